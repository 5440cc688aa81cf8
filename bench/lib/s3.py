"""The one local S3 server of a run (moto, or Ceph radosgw with BENCH_S3=rgw), started with the
repository's scripts/servers/ scripts in the run's own scratch folder, and what the harness asks
of the bucket: HEAD, listings, emptying a prefix, checking stored bytes."""

import hashlib
import os
import signal
import subprocess
import time

from .procs import alive
from .util import GIB, MIB, Broken, log, run

BUCKET = "recsync-bench"
# Part sizes the clients use: recsync and aws 8 MiB, rclone 5 MiB, s3fs 10 MB (its MB is MiB).
PART_SIZES = (5 * MIB, 8 * MIB, 10 * MIB, 16 * MIB, 64 * MIB)


class Server:
    def __init__(self, repo, work, kind):
        self.repo, self.kind = repo, kind
        self.dir = os.path.join(work, "servers")
        self.script = os.path.join(repo, "scripts", "servers", "moto.sh" if kind == "moto" else "radosgw.sh")
        self.env = dict(os.environ, RECSYNC_SERVERS_DIR=self.dir)
        self.started = False
        self.paused = False
        self.pids = []  # every process of the server, for idleness and CPU
        self.pause_pid = None  # the process that answers S3 requests
        self.endpoint = None
        self.description = "?"
        self.after_delete = None

    # ------------------------------------------------------------ life cycle

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        prefix, env_file = ("RECSYNC_TEST_MOTO", "moto.env") if self.kind == "moto" else ("RECSYNC_TEST_RGW", "rgw.env")
        if self.kind == "rgw" and os.geteuid() != 0:
            raise Broken("BENCH_S3=rgw needs root (scripts/servers/radosgw.sh starts Ceph daemons)")
        log(f"starting {self.kind} with scripts/servers/{os.path.basename(self.script)}"
            + (" (15-40 s)" if self.kind == "rgw" else ""))
        self.started = True
        log_path = os.path.join(self.dir, "start.log")
        with open(log_path, "w") as out:
            done = subprocess.run(["bash", self.script, "start"], env=self.env, stdout=out, stderr=out, timeout=300)
        if done.returncode != 0:
            with open(log_path) as f:
                raise Broken(f"{os.path.basename(self.script)} start failed: {f.read()[-800:]}")
        values = {}
        with open(os.path.join(self.dir, env_file)) as f:
            for line in f:
                key, _, value = line.strip().partition("=")
                values[key] = value
        self.endpoint = values[f"{prefix}_ENDPOINT"]
        if not self.endpoint.startswith("http://127.0.0.1:"):
            raise Broken(f"the S3 server is not on 127.0.0.1: {self.endpoint}")
        # The credentials reach every client through the environment, never argv. The endpoint is
        # plain HTTP: a CA bundle only gets in the way (rclone refuses to start with one).
        for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL",
                    "AWS_ENDPOINT_URL_S3", "AWS_DEFAULT_PROFILE", "AWS_CA_BUNDLE"):
            os.environ.pop(var, None)
        os.environ["AWS_ACCESS_KEY_ID"] = values[f"{prefix}_ACCESS_KEY"]
        os.environ["AWS_SECRET_ACCESS_KEY"] = values[f"{prefix}_SECRET_KEY"]
        os.environ["AWS_DEFAULT_REGION"] = os.environ["AWS_REGION"] = values[f"{prefix}_REGION"]
        if self.kind == "moto":
            with open(os.path.join(self.dir, "moto", "moto.pid")) as f:
                self.pause_pid = int(f.read().split()[0])
            self.pids = [self.pause_pid]
            version = run(["python3", "-c", "import moto; print(moto.__version__)"]).stdout.strip()
            self.description = f"moto {version} (scripts/servers/moto.sh, SigV4 checked), {self.endpoint}"
        else:
            rundir = os.path.join(self.dir, "rgw", "run")
            for name in ("mon.a", "osd.0", "client.rgw"):
                with open(os.path.join(rundir, f"{name}.pid")) as f:
                    self.pids.append(int(f.read().split()[0]))
            self.pause_pid = self.pids[-1]
            conf = os.path.join(self.dir, "rgw", "ceph.conf")
            self.after_delete = ["radosgw-admin", "-c", conf, "-n", "client.rgw", "gc", "process", "--include-all"]
            version = run(["ceph", "--version"]).stdout.split()[2]
            self.description = f"radosgw {version} (scripts/servers/radosgw.sh, memstore OSD), {self.endpoint}"
        log(f"S3 server at {self.endpoint} (pids {', '.join(map(str, self.pids))})")
        self.client = client(self.endpoint)
        self.client.create_bucket(Bucket=BUCKET)
        self.client.head_bucket(Bucket=BUCKET)

    def grow_store(self, biggest):
        """radosgw's OSD keeps objects in RAM, 4 GiB as the script sets it up: room for the
        biggest object and its parts while a multipart upload completes."""
        if self.kind != "rgw":
            return
        store = max(4 * GIB, biggest * 3 + GIB)
        conf = os.path.join(self.dir, "rgw", "ceph.conf")
        run(["ceph", "-c", conf, "--connect-timeout", "10", "tell", "osd.0", "config", "set",
             "memstore_device_bytes", str(store)], timeout=60)

    def stop(self):
        """Stops the server with its script (by the PIDs in its pid files); never raises."""
        if not self.started:
            return
        self.resume()
        try:
            subprocess.run(["bash", self.script, "stop"], env=self.env, capture_output=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as error:
            log(f"stopping the S3 server: {error}")
        self.started = False

    def pause(self):
        """The server stops answering (SIGSTOP): connections open but nothing comes back."""
        os.kill(self.pause_pid, signal.SIGSTOP)
        self.paused = True

    def resume(self):
        if self.paused and self.pause_pid and alive(self.pause_pid):
            os.kill(self.pause_pid, signal.SIGCONT)
        self.paused = False

    def check_alive(self):
        for pid in self.pids:
            if not alive(pid):
                raise Broken(f"the S3 server process {pid} is gone")

    # ------------------------------------------------------------ bucket

    def keys(self, prefix):
        """{key: (size, etag)} under `prefix`."""
        found = {}
        # Asked without the trailing "/" and filtered here: moto's signature check fails on a "/"
        # in the query string.
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix.rstrip("/")):
            for obj in page.get("Contents", []):
                if obj["Key"].startswith(prefix):
                    found[obj["Key"]] = (obj["Size"], obj["ETag"].strip('"'))
        return found

    def empty(self, prefix, keep=()):
        """Deletes every object and unfinished multipart upload under `prefix` (a non-empty
        prefix: the harness never empties the whole bucket by accident)."""
        assert prefix
        for up in self.client.list_multipart_uploads(Bucket=BUCKET, Prefix=prefix.rstrip("/")).get("Uploads", []):
            if up["Key"].startswith(prefix):
                self.client.abort_multipart_upload(Bucket=BUCKET, Key=up["Key"], UploadId=up["UploadId"])
        doomed = [k for k in self.keys(prefix) if k not in keep]
        for i in range(0, len(doomed), 1000):
            self.client.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": k} for k in doomed[i:i + 1000]],
                                                              "Quiet": True})
        if doomed and self.after_delete:
            run(self.after_delete, timeout=600)

    def lists_folders(self):
        """Whether the server accepts a signed listing with delimiter "/" (encoded %2F in the
        query, as the SigV4 rules say). moto's signature check rejects it (getmoto/moto#5948),
        and rclone cannot read a folder without one."""
        from botocore.exceptions import ClientError

        try:
            self.client.list_objects_v2(Bucket=BUCKET, Delimiter="/", MaxKeys=1)
            return True
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "SignatureDoesNotMatch":
                return False
            raise

    def head_size(self, key):
        from botocore.exceptions import ClientError

        try:
            return self.client.head_object(Bucket=BUCKET, Key=key)["ContentLength"]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code", "") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise


def client(endpoint):
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3", endpoint_url=endpoint, region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1},
                      connect_timeout=5, read_timeout=120, tcp_keepalive=True))


class Expected:
    """The ETags S3 can give one source file: its MD5 for a single PUT, or the MD5 of its parts'
    MD5s for a multipart upload. Parts are all of one size but the last, which holds the rest
    (s3fs folds a short remainder into the last part); the part sizes tried are those the clients
    use. Computed on demand, once per part layout."""

    def __init__(self, path):
        self.path = path
        self.size = os.path.getsize(path)
        self._cache = {}

    def _etag(self, part_size, parts):
        if (part_size, parts) not in self._cache:
            whole, digests = hashlib.md5(), []
            with open(self.path, "rb") as f:
                if not parts:
                    for block in iter(lambda: f.read(8 * MIB), b""):
                        whole.update(block)
                for i in range(parts):
                    part = hashlib.md5()
                    left = part_size if i < parts - 1 else self.size - (parts - 1) * part_size
                    while left:
                        block = f.read(min(left, 8 * MIB))
                        part.update(block)
                        left -= len(block)
                    digests.append(part.digest())
            self._cache[(part_size, parts)] = (f"{hashlib.md5(b''.join(digests)).hexdigest()}-{parts}"
                                               if parts else whole.hexdigest())
        return self._cache[(part_size, parts)]

    def check(self, key, size, etag):
        """Raises Broken unless the object has the file's size and one of its possible ETags;
        returns the number of parts."""
        if size != self.size:
            raise Broken(f"s3://{BUCKET}/{key} has {size} bytes, the file {self.size}")
        if "-" not in etag:
            if etag != self._etag(0, 0):
                raise Broken(f"s3://{BUCKET}/{key}: ETag {etag} is not the file's MD5: the stored bytes differ")
            return 1
        parts = int(etag.rsplit("-", 1)[1])
        for part_size in PART_SIZES:
            last = self.size - (parts - 1) * part_size
            if 0 < last <= 2 * part_size and self._etag(part_size, parts) == etag:
                return parts
        raise Broken(f"s3://{BUCKET}/{key}: ETag {etag} matches no part layout of the file: the stored bytes differ")


def md5_of(data):
    return hashlib.md5(data).hexdigest()


def wait_visible(server, key, size, timeout, poll=0.02, should_stop=None):
    """HEADs `key` until it answers with `size`; returns the time.perf_counter() of the answer."""
    deadline = time.monotonic() + timeout
    while True:
        start = time.perf_counter()
        if server.head_size(key) == size:
            return time.perf_counter()
        if should_stop:
            should_stop()
        if time.monotonic() > deadline:
            raise Broken(f"s3://{BUCKET}/{key} not visible with {size} bytes {timeout:.0f} s after close")
        pause = poll - (time.perf_counter() - start)
        if pause > 0:
            time.sleep(pause)
