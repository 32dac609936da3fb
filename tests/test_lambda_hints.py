"""Colour hints through the Lambda handler: query parameter or JSON body field, same format as the site.

The events carry queryStringParameters decoded, as API Gateway delivers them.
"""
from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

from colorizer.lab import rgb_to_lab
from lambda_api import handler
from tests.test_lambda_handler import CONTEXT, gray_jpeg, http_api_event

RED = [{"x": 300, "y": 200, "color": "#e01010"}]


def a_star_at(response: dict, x: int, y: int) -> float:
    assert response["statusCode"] == 200, response["body"]
    image = Image.open(io.BytesIO(base64.b64decode(response["body"]))).convert("RGB")
    return float(rgb_to_lab(np.asarray(image))[y, x, 1])


def test_hints_in_the_query_turn_the_point_red():
    upload = gray_jpeg((400, 300))
    plain = a_star_at(handler.lambda_handler(http_api_event(upload), CONTEXT), 300, 200)
    hinted = handler.lambda_handler(http_api_event(upload, query={"hints": json.dumps(RED)}), CONTEXT)
    assert a_star_at(hinted, 300, 200) > plain + 20


def test_hints_in_a_json_body():
    upload = gray_jpeg((400, 300))
    body = json.dumps({"image": base64.b64encode(upload).decode(), "hints": RED}).encode()
    response = handler.lambda_handler(http_api_event(body, "application/json", text=True), CONTEXT)
    assert a_star_at(response, 300, 200) > 20


def test_hints_follow_the_image_when_it_is_shrunk():
    upload = gray_jpeg((400, 300))
    query = {"hints": json.dumps(RED), "max_side": "200"}
    response = handler.lambda_handler(http_api_event(upload, query=query), CONTEXT)
    assert a_star_at(response, 150, 100) > 20  # (300, 200) on the half-size answer


@pytest.mark.parametrize("hints", ["not json", '{"x": 1}', '[{"x": -1, "y": 0, "color": "#ffffff"}]',
                                   '[{"x": 1, "y": 2, "color": "red"}]', '[{"x": 400, "y": 0, "color": "#ffffff"}]',
                                   json.dumps([{"x": 1, "y": 1, "color": "#000000"}] * 65)])
def test_malformed_or_outside_hints_are_a_400(hints):
    response = handler.lambda_handler(http_api_event(gray_jpeg((400, 300)), query={"hints": hints}), CONTEXT)
    assert response["statusCode"] == 400
    assert json.loads(response["body"])["error"] == "bad_hints"
