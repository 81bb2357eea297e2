"""Every setting read from the environment is read in civic/config.py alone, and
documented twice: in that module's docstring and in the README's configuration
table (issue 18, item 7)."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = (ROOT / "civic" / "config.py").read_text()
README = (ROOT / "README.md").read_text()


def environment_names():
    return set(re.findall(r'(?:os\.environ\.get\(|os\.environ\[|_[a-z]+_env\()\s*"([A-Z0-9_]+)"', CONFIG))


def test_only_config_reads_the_environment():
    readers = [str(path.relative_to(ROOT)) for path in sorted((ROOT / "civic").rglob("*.py"))
               if "os.environ" in path.read_text() or "getenv(" in path.read_text()]
    assert readers == ["civic/config.py"]


def test_every_environment_setting_is_documented():
    names = environment_names()
    assert len(names) > 40
    docstring = CONFIG[:CONFIG.index('"""', 3)]
    table = README[README.index("## Configuration (environment)"):README.index("## Command line")]
    assert sorted(name for name in names if name not in docstring) == []
    assert sorted(name for name in names if f"`{name}`" not in table) == []
