"""The learning child: import a source with the host's eager loader off, and report the ids it registered.

Run by path (``python _child.py ARGS``) by :mod:`gymplug._learning._children`, never imported: it imports
nothing of gymplug. argv[1] is a JSON object (path, modules, registration, eager, limit); the report is one
JSON line on the original stdout, which the imported code cannot write to.
"""

import json
import os
import sys
import threading
import time

_chan = os.dup(1)
os.dup2(2, 1)  # what the imported code prints goes to stderr; fd _chan carries the result only
_args = json.loads(sys.argv[1])
sys.path[:] = _args["path"]

def _watchdog():  # an orphan (the parent died) must not run forever
    time.sleep(_args["limit"])
    os._exit(124)

threading.Thread(target=_watchdog, daemon=True).start()

def _line(exc):
    text = (str(exc).strip().splitlines() or [""])[0]
    return type(exc).__name__ + (": " + text if text else "")

class _Finder:  # the host's eager plugin loader must not run: plugins in its group are not ours to import
    def find_spec(self, fullname, path=None, target=None):
        if fullname != _args["registration"]:
            return None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            spec = None if finder is self or find is None else find(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        real = getattr(spec.loader, "exec_module", None)
        if real is None:
            return spec

        def exec_module(module):
            real(module)
            if _args["eager"] and hasattr(module, _args["eager"]):
                setattr(module, _args["eager"], lambda *a, **k: None)

        spec.loader.exec_module = exec_module
        return spec

def _main():
    import importlib
    out = {"ids": [], "entry_points": {}, "error": None}
    sys.meta_path.insert(0, _Finder())
    try:
        registry = importlib.import_module(_args["registration"]).registry
        before = set(registry)
    except BaseException as exc:
        out["error"] = "cannot import %s: %s" % (_args["registration"], _line(exc))
        return out
    for name in _args["modules"]:
        try:
            importlib.import_module(name)
        except BaseException as exc:
            out["error"] = out["error"] or "import %s: %s" % (name, _line(exc))
    for env_id in list(registry):
        if env_id not in before and isinstance(env_id, str):
            out["ids"].append(env_id)
            entry = getattr(registry[env_id], "entry_point", None)
            if isinstance(entry, str):
                out["entry_points"][env_id] = entry
    return out

try:
    _out = _main()
except BaseException as exc:
    _out = {"ids": [], "entry_points": {}, "error": "learning failed: " + _line(exc)}
_data = json.dumps(_out).encode() + b"\n"
while _data:
    _data = _data[os.write(_chan, _data):]
os._exit(0)  # no atexit handlers, no waiting for threads the imported code started
