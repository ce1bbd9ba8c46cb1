"""Build hook only (the metadata is in setup.cfg): the wheel carries models/*.toml as hippo_dam/models/.

``models/`` stays at the top of the repository, where the model files are edited; a built
package finds them as package data (``hippo_dam.find_model`` looks in both places).
"""
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPyWithModels(build_py):
    def run(self):
        super().run()
        source = Path(__file__).resolve().parent / "models"
        target = Path(self.build_lib) / "hippo_dam" / "models"
        self.mkpath(str(target))
        for path in sorted(source.glob("*.toml")):
            self.copy_file(str(path), str(target / path.name))


setup(cmdclass={"build_py": BuildPyWithModels})
