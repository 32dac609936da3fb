"""Deployment: the SAM template lints, and the built zip fits Lambda and runs on its own.

The artifact test really builds: it downloads the manylinux wheels from
PyPI (cached in build/lambda-wheels/) and zips ~150 MB, about 15-30 s.
"""
from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from cfnlint.api import lint_file
from cfnlint.decode import decode
from PIL import Image

from tests.helpers import ROOT, photo_bytes
from lambda_api import build

TEMPLATE = ROOT / "lambda_api" / "template.yaml"


@pytest.fixture(scope="module")
def function_properties() -> dict:
    template, errors = decode(str(TEMPLATE))
    assert not errors
    return template["Resources"]["ColorizeFunction"]["Properties"]


@pytest.fixture(scope="module")
def artifact(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("lambda")
    return out, build.build(out, wheels=ROOT / "build" / "lambda-wheels")


def test_template_passes_cfn_lint():
    assert lint_file(TEMPLATE) == []


def test_runtime_matches_runtime_txt_and_the_build(function_properties):
    heroku = (ROOT / "runtime.txt").read_text().strip()  # e.g. python-3.11.14
    assert heroku.startswith(f"python-{build.PYTHON_VERSION}.")
    assert function_properties["Runtime"] == f"python{build.PYTHON_VERSION}"
    assert function_properties["Handler"] == "lambda_api.handler.lambda_handler"


def test_api_key_parameter_is_secret_and_reaches_the_function(function_properties):
    template, _ = decode(str(TEMPLATE))
    assert template["Parameters"]["ApiKey"]["NoEcho"] is True
    assert function_properties["Environment"]["Variables"]["COLORIZER_API_KEY"] == {"Ref": "ApiKey"}


def test_artifact_fits_lambdas_limits(artifact, function_properties):
    out, sizes = artifact
    archive = out / "colorizer-lambda.zip"
    assert sizes["zip"] == archive.stat().st_size
    with zipfile.ZipFile(archive) as zf:
        assert zf.testzip() is None
        assert sum(info.file_size for info in zf.infolist()) == sizes["unzipped"]
    assert sizes["unzipped"] <= build.MAX_UNZIPPED
    if sizes["zip"] > build.MAX_DIRECT_UPLOAD_ZIP:
        # Too big to upload straight to Lambda: it must go through S3, which `sam deploy`
        # does for a local CodeUri. So the template must point at exactly this zip.
        assert (TEMPLATE.parent / function_properties["CodeUri"]).resolve() == ROOT / "build" / "lambda" / archive.name
    assert json.loads((out / "sizes.json").read_text()) == sizes


def test_artifact_holds_the_handler_the_model_and_only_runtime_dependencies(artifact):
    out, _ = artifact
    with zipfile.ZipFile(out / "colorizer-lambda.zip") as zf:
        names = set(zf.namelist())
    tops = {name.split("/")[0] for name in names}
    for required in ("lambda_api/handler.py", "colorizer/engine.py", "colorizer/imageio.py", "colorizer/lab.py",
                     "models/colorizer.onnx", "numpy/__init__.py", "onnxruntime/__init__.py", "PIL/__init__.py"):
        assert required in names
    assert not tops & {"flask", "werkzeug", "gunicorn", "requests", "torch", "sympy", "google", "app", "training"}
    assert "lambda_api/__pycache__/handler.cpython-311.pyc" in names  # bytecode shipped: faster cold start
    assert not names & {"lambda_api/build.py", "lambda_api/local.py"}  # dev tools stay home


def test_artifact_runs_the_handler_by_itself_and_matches_the_repo(artifact, tmp_path):
    """The unpacked zip alone (no venv, no repo on the path) colorizes a photo, as in /var/task,
    with its own pinned numpy/onnxruntime/Pillow, and gives what the repo's code gives."""
    out, _ = artifact
    package = out / "package"
    photo = tmp_path / "photo.png"
    photo.write_bytes(photo_bytes((160, 120), "PNG", "L"))
    event = {"version": "2.0", "headers": {"content-type": "image/png"}, "requestContext": {"http": {"method": "POST"}},
             "body": base64.b64encode(photo.read_bytes()).decode(), "isBase64Encoded": True}
    script = f"""
import json, sys
from lambda_api.handler import lambda_handler
response = lambda_handler({event!r}, None)
import numpy, onnxruntime, PIL, isal
modules = [numpy, onnxruntime, PIL, isal]
print(json.dumps({{"response": response, "versions": [m.__version__ for m in modules],
                  "files": [m.__file__ for m in modules]}}))
"""
    # -S: no site-packages, so nothing can come from the developer's venv; /var/task is read-only.
    result = subprocess.run([sys.executable, "-S", "-c", script], cwd=package, capture_output=True, text=True,
                            env={"PYTHONPATH": str(package), "PYTHONDONTWRITEBYTECODE": "1", "PATH": "/usr/bin:/bin"},
                            timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert all(Path(file).is_relative_to(package) for file in report["files"])
    pins = [line.split("==")[1] for line in build.REQUIREMENTS.read_text().splitlines() if "==" in line]
    assert report["versions"] == pins  # numpy, onnxruntime, pillow, isal, in requirements order

    from lambda_api.handler import lambda_handler

    def pixels(response: dict) -> np.ndarray:
        assert response["statusCode"] == 200, response["body"]
        return np.asarray(Image.open(io.BytesIO(base64.b64decode(response["body"])))).astype(int)

    deployed, repo = pixels(report["response"]), pixels(lambda_handler(event, None))
    assert deployed.shape == repo.shape == (120, 160, 3)
    assert np.abs(deployed - repo).max() <= 2  # same model and maths; library versions may round differently
