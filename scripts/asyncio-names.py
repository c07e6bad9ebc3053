"""Snapshot asyncio's public names for test/porting.test.ts.

Writes test/fixtures/asyncio-names.json: asyncio.__all__, the public methods of
asyncio.AbstractEventLoop, and the public members of the classes whose tsyncio
counterparts can be checked at runtime. CI does not run Python; rerun this by hand
(with the Python version the porting guide follows) and commit the result:

    PYENV_VERSION=3.13.0 python3 scripts/asyncio-names.py
"""

import asyncio
import asyncio.subprocess
import json
import pathlib
import subprocess
import sys

CLASSES = {
    "Future": asyncio.Future,
    "Task": asyncio.Task,
    "Handle": asyncio.Handle,
    "TimerHandle": asyncio.TimerHandle,
    "Server": asyncio.Server,
    "StreamReader": asyncio.StreamReader,
    "StreamWriter": asyncio.StreamWriter,
    "StreamReaderProtocol": asyncio.StreamReaderProtocol,
    "Process": asyncio.subprocess.Process,
    "Queue": asyncio.Queue,
    "PriorityQueue": asyncio.PriorityQueue,
    "LifoQueue": asyncio.LifoQueue,
    "Lock": asyncio.Lock,
    "Event": asyncio.Event,
    "Condition": asyncio.Condition,
    "Semaphore": asyncio.Semaphore,
    "BoundedSemaphore": asyncio.BoundedSemaphore,
    "Barrier": asyncio.Barrier,
    "Timeout": asyncio.Timeout,
    "TaskGroup": asyncio.TaskGroup,
    "Runner": asyncio.Runner,
    "ReadTransport": asyncio.ReadTransport,
    "WriteTransport": asyncio.WriteTransport,
    "Transport": asyncio.Transport,
    "DatagramTransport": asyncio.DatagramTransport,
    "SubprocessTransport": asyncio.SubprocessTransport,
}


def public(names):
    return sorted(name for name in names if not name.startswith("_"))


def main():
    snapshot = {
        "python": sys.version.split()[0],
        "all": sorted(asyncio.__all__),
        "loopMethods": public(dir(asyncio.AbstractEventLoop)),
        "classes": {name: public(dir(cls)) for name, cls in CLASSES.items()},
    }
    root = pathlib.Path(__file__).resolve().parent.parent
    out = root / "test" / "fixtures" / "asyncio-names.json"
    out.write_text(json.dumps(snapshot, indent=2) + "\n")
    # Keep the file as `npm run format:check` wants it.
    subprocess.run(["npx", "prettier", "--write", str(out)], cwd=root, check=True)
    print(f"{out}: {len(snapshot['all'])} names, {len(snapshot['loopMethods'])} loop methods")


if __name__ == "__main__":
    main()
