"""Build the Lambda deployment zip: `python -m lambda_api.build`.

Lambda's python3.11 runtime is CPython 3.11 on Amazon Linux 2 x86_64, so
the dependencies are manylinux2014 wheels for that platform, whatever
machine builds (pip --platform/--target never runs their code here). Into
the zip go those wheels, the shared colorizer/ package, the model and the
lambda_api/ code, laid out as /var/task expects: the handler is
lambda_api.handler.lambda_handler and the engine finds models/colorizer.onnx
beside colorizer/ by itself.
"""
from __future__ import annotations

import argparse
import compileall
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from py_compile import PycInvalidationMode

import onnx

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = Path(__file__).with_name("requirements.txt")
MODEL = ROOT / "models" / "colorizer.onnx"
MAX_IR_VERSION = 9  # the newest ONNX IR that the pinned onnxruntime 1.16 reads
CODE_PACKAGES = ("colorizer", "lambda_api")
PYTHON_VERSION = "3.11"  # the template's Runtime and runtime.txt say the same; a test checks
PIP_PLATFORM = ["--platform", "manylinux2014_x86_64", "--implementation", "cp", "--python-version", PYTHON_VERSION,
                "--only-binary=:all:", "--no-deps", "-r", str(REQUIREMENTS)]
# Lambda's deployment package limits (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
MAX_DIRECT_UPLOAD_ZIP = 50 * 1024 * 1024  # zip uploaded straight to the Lambda API; via S3 there is no zip limit
MAX_UNZIPPED = 250 * 1024 * 1024  # function code and layers, unzipped
# Size report groups: name -> top-level entries of the unpacked artifact.
GROUPS = {
    "numpy": ("numpy", "numpy.libs"),
    "onnxruntime": ("onnxruntime",),
    "pillow": ("PIL", "pillow.libs"),
    "isal": ("isal",),
    "model": ("models",),
    "code": CODE_PACKAGES,
}


def build(out: Path = ROOT / "build" / "lambda", wheels: Path = ROOT / "build" / "lambda-wheels") -> dict:
    """Make out/package/ and out/colorizer-lambda.zip; return the sizes (bytes), also saved as out/sizes.json."""
    package = out / "package"
    shutil.rmtree(package, ignore_errors=True)
    package.mkdir(parents=True)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "download", "-d", str(wheels), *PIP_PLATFORM], check=True)
    subprocess.run([*pip, "install", "--no-index", "--no-compile", "--find-links", str(wheels),
                    "--target", str(package), *PIP_PLATFORM], check=True)
    shutil.rmtree(package / "bin", ignore_errors=True)  # numpy's f2py launchers: build tools, not run time
    for name in CODE_PACKAGES:  # without the build and dev tools, which never run on Lambda
        shutil.copytree(ROOT / name, package / name, ignore=shutil.ignore_patterns(
            "__pycache__", "*.pyc", ".aws-sam", "build.py", "local.py", "template.yaml", "requirements.txt"))
    (package / "models").mkdir()
    copy_model(MODEL, package / "models" / MODEL.name)
    # /var/task is read-only, so without shipped bytecode every cold start compiles numpy & co.
    # again (measured: ~0.3 s of a ~0.5 s import). Unchecked-hash .pyc files stay valid whatever
    # timestamps the zip round trip leaves; .pyc format is the same across all 3.11.x releases.
    compileall.compile_dir(package, quiet=1, invalidation_mode=PycInvalidationMode.UNCHECKED_HASH)
    archive = out / "colorizer-lambda.zip"
    _zip(package, archive)
    sizes = measure(package) | {"zip": archive.stat().st_size}
    (out / "sizes.json").write_text(json.dumps(sizes, indent=2) + "\n")
    return sizes


def copy_model(src: Path, dst: Path) -> None:
    """Copy the model, lowering its IR version to what the pinned onnxruntime reads.

    torch's dynamo exporter writes IR 10, which only added 4-bit types and
    function overloads; a U-Net of Conv/Resize/Concat uses neither, so the
    graph is valid IR 9 as it stands (the full checker confirms, and the
    artifact test compares the result with the repo's model).
    """
    model = onnx.load(src)
    if model.ir_version <= MAX_IR_VERSION:
        shutil.copy2(src, dst)
        return
    model.ir_version = MAX_IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, dst)


def _zip(src: Path, archive: Path) -> None:
    """Deflate every file under src, in a stable order, keeping permissions (Lambda needs them readable)."""
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for path in sorted(p for p in src.rglob("*") if p.is_file()):
            zf.write(path, path.relative_to(src).as_posix())


def measure(package: Path) -> dict:
    """Unzipped bytes per dependency group, and in total."""
    def size(path: Path) -> int:
        return path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.rglob("*") if p.is_file())

    sizes = {group: sum(size(package / name) for name in names if (package / name).exists())
             for group, names in GROUPS.items()}
    return sizes | {"unzipped": size(package)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "lambda")
    parser.add_argument("--wheels", type=Path, default=ROOT / "build" / "lambda-wheels", help="wheel cache")
    args = parser.parse_args(argv)
    sizes = build(args.out, args.wheels)
    for name, value in sizes.items():
        print(f"{name:>12}: {value / 1e6:7.1f} MB")
    print(f"zip {'fits' if sizes['zip'] <= MAX_DIRECT_UPLOAD_ZIP else 'exceeds'} the 50 MiB direct-upload limit; "
          f"unzipped {'fits' if sizes['unzipped'] <= MAX_UNZIPPED else 'EXCEEDS'} the 250 MiB limit")
    print(args.out / "colorizer-lambda.zip")
    if sizes["unzipped"] > MAX_UNZIPPED:
        sys.exit(1)


if __name__ == "__main__":
    main()
