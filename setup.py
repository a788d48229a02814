"""Build hooks that put gymplug's startup files (.pth, PEP 829 .start) into wheels and editable installs."""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.editable_wheel import editable_wheel

STARTUP_FILES = ("gymplug.pth", "gymplug.start")
HERE = Path(__file__).parent


class build_py_with_startup(build_py):
    """Copy the startup files to the root of the build, hence to site-packages."""

    def run(self) -> None:
        super().run()
        for name in STARTUP_FILES:
            self.copy_file(str(HERE / name), str(Path(self.build_lib, name)), preserve_mode=False)


class _StrategyWithStartup:
    """Wrap setuptools' editable strategy so the editable wheel carries the startup files too."""

    def __init__(self, strategy) -> None:
        self._strategy = strategy

    def __call__(self, wheel, files, mapping) -> None:
        self._strategy(wheel, files, mapping)
        for name in STARTUP_FILES:
            wheel.writestr(name, (HERE / name).read_bytes())

    def __enter__(self):
        self._strategy.__enter__()
        return self

    def __exit__(self, *exc_info):
        return self._strategy.__exit__(*exc_info)


class editable_wheel_with_startup(editable_wheel):
    """`pip install -e .` builds the wheel here; setuptools alone would leave the .pth out."""

    def _select_strategy(self, *args, **kwargs):
        return _StrategyWithStartup(super()._select_strategy(*args, **kwargs))


setup(cmdclass={"build_py": build_py_with_startup, "editable_wheel": editable_wheel_with_startup})
