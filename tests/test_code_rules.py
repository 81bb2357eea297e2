"""Rules of the code that a reader relies on (issue 18): every setting read from
the environment is read in civic/config.py alone and documented twice, in that
module's docstring and in the README's configuration table (item 7); no broad
`except Exception` where it could turn a programming error into a user's error
(item 11)."""
import ast
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


# Where catching everything is right: a background job must record a failure and
# go on with the next; the CLI reports and exits.
BROAD_CATCH_ALLOWED = {"civic/cli.py", "civic/jobs.py", "civic/push/jobs.py", "civic/push/sender.py"}


def swallows_everything(handler):
    """An `except Exception` / `except BaseException` (or a bare `except`) that does
    not end by raising again: a cleanup that re-raises hides nothing."""
    names = [handler.type] if not isinstance(handler.type, ast.Tuple) else handler.type.elts
    broad = handler.type is None or any(isinstance(n, ast.Name) and n.id in ("Exception", "BaseException")
                                        for n in names)
    return broad and not isinstance(handler.body[-1], ast.Raise)


def test_no_broad_except_on_a_request_path():
    broad = {str(path.relative_to(ROOT)) for path in (ROOT / "civic").rglob("*.py")
             if any(isinstance(node, ast.ExceptHandler) and swallows_everything(node)
                    for node in ast.walk(ast.parse(path.read_text())))}
    assert sorted(broad - BROAD_CATCH_ALLOWED) == []
