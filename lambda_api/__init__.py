"""The colorizer as an HTTP API on AWS Lambda, and a local emulator of it.

handler.py is the Lambda entry point; events.py and payload.py turn API
Gateway events into an image and back; local.py plays API Gateway on a
developer's machine; build.py makes the deployment zip; template.yaml
deploys it with AWS SAM.
"""
