"""Inference library: Lab colour science, image intake and the ONNX colorizer.

Shared by the website (app/), the Lambda function (lambda_api/) and the
command line (python -m colorizer); needs only numpy, onnxruntime and Pillow.
"""
