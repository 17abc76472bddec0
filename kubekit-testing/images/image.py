#!/usr/bin/env python3
"""Writes a docker-archive image (the format `docker load`, `ctr images import` and k3s's
image import read) from a root filesystem tarball or a list of files.

  image.py --out OUT.tar --ref NAME:TAG [--layer ROOTFS.tar] [--file SRC:DEST[:MODE]]...
           [--symlink TARGET:DEST]... --cmd JSON [--entrypoint JSON] [--env K=V]...
           [--workdir DIR] [--volume PATH]... [--expose PORT/tcp]... [--stop-signal SIG]
"""
import argparse, hashlib, io, json, os, tarfile, tempfile, shutil

def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--ref", required=True)
    p.add_argument("--layer")
    p.add_argument("--file", action="append", default=[])
    p.add_argument("--symlink", action="append", default=[])
    p.add_argument("--cmd", required=True)
    p.add_argument("--entrypoint")
    p.add_argument("--env", action="append", default=["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"])
    p.add_argument("--workdir", default="/")
    p.add_argument("--stop-signal")
    p.add_argument("--volume", action="append", default=[])
    p.add_argument("--expose", action="append", default=[])
    a = p.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        layer = os.path.join(tmp, "layer.tar")
        if a.layer:
            shutil.copyfile(a.layer, layer)
        else:
            with tarfile.open(layer, "w", format=tarfile.PAX_FORMAT) as t:
                dirs = set()
                def add_dirs(path):
                    parts = path.strip("/").split("/")[:-1]
                    for i in range(1, len(parts) + 1):
                        d = "/".join(parts[:i])
                        if d not in dirs:
                            dirs.add(d)
                            ti = tarfile.TarInfo(d); ti.type = tarfile.DIRTYPE; ti.mode = 0o755
                            t.addfile(ti)
                for spec in a.file:
                    src, dest, *mode = spec.split(":")
                    add_dirs(dest)
                    ti = t.gettarinfo(src, arcname=dest.lstrip("/"))
                    ti.uid = ti.gid = 0; ti.uname = ti.gname = "root"; ti.mtime = 0
                    if mode: ti.mode = int(mode[0], 8)
                    with open(src, "rb") as f:
                        t.addfile(ti, f)
                for spec in a.symlink:
                    target, dest = spec.split(":")
                    add_dirs(dest)
                    ti = tarfile.TarInfo(dest.lstrip("/")); ti.type = tarfile.SYMTYPE; ti.linkname = target
                    t.addfile(ti)
        h = hashlib.sha256()
        with open(layer, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        diff_id = h.hexdigest()
        config = {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Env": a.env, "Cmd": json.loads(a.cmd), "WorkingDir": a.workdir},
            "rootfs": {"type": "layers", "diff_ids": ["sha256:" + diff_id]},
            "history": [{"created_by": "kubekit-testing/images/image.py " + a.ref}],
        }
        if a.entrypoint:
            config["config"]["Entrypoint"] = json.loads(a.entrypoint)
        if a.volume:
            config["config"]["Volumes"] = {v: {} for v in a.volume}
        if a.expose:
            config["config"]["ExposedPorts"] = {e: {} for e in a.expose}
        if a.stop_signal:
            config["config"]["StopSignal"] = a.stop_signal
        cfg = json.dumps(config, sort_keys=True).encode()
        cfg_name = hashlib.sha256(cfg).hexdigest() + ".json"
        manifest = [{"Config": cfg_name, "RepoTags": [a.ref], "Layers": [diff_id + "/layer.tar"]}]
        tmp_out = a.out + ".tmp"
        with tarfile.open(tmp_out, "w", format=tarfile.PAX_FORMAT) as t:
            def add_bytes(name, data):
                ti = tarfile.TarInfo(name); ti.size = len(data); ti.mode = 0o644
                t.addfile(ti, io.BytesIO(data))
            add_bytes(cfg_name, cfg)
            ti = tarfile.TarInfo(diff_id); ti.type = tarfile.DIRTYPE; ti.mode = 0o755; t.addfile(ti)
            t.add(layer, arcname=diff_id + "/layer.tar")
            add_bytes("manifest.json", json.dumps(manifest).encode())
            add_bytes("repositories", json.dumps({a.ref.rsplit(":", 1)[0]: {a.ref.rsplit(":", 1)[1]: diff_id}}).encode())
        os.replace(tmp_out, a.out)

if __name__ == "__main__":
    main()
