#!/usr/bin/python3
# Runs `extupdatectl validate` against the registry harness: valid and invalid images, JSON and text, no layers read.
"""Usage: harness.py run --seed seeds/registry.json -- test-validate.py EXTUPDATECTL"""

import json
import os
import subprocess
import sys
import tempfile
import urllib.request

checks = 0
failures = 0


def check(cond, what):
    global checks, failures
    checks += 1
    if not cond:
        failures += 1
        print("FAIL: %s" % what, file=sys.stderr)


def control(path, body=None):
    url = os.environ["EXTUPDATED_TEST_CONTROL_URL"] + path
    data = None if body is None else json.dumps(body).encode()
    with urllib.request.urlopen(urllib.request.Request(url, data=data, method="POST" if data else "GET")) as r:
        return json.load(r)


def run(ctl, *args, env=None):
    p = subprocess.run([ctl] + list(args), capture_output=True, text=True, timeout=120, env=env)
    return p.returncode, p.stdout, p.stderr


def main():
    ctl = sys.argv[1]
    reg = os.environ["EXTUPDATED_TEST_REGISTRY"]
    seed = json.load(open(os.environ["EXTUPDATED_TEST_SEED_RESULT"]))
    # A configuration naming the harness as a plain-HTTP endpoint; HOME elsewhere so no user config leaks in.
    tmp = tempfile.mkdtemp()
    config = os.path.join(tmp, "config.json")
    with open(config, "w") as f:
        json.dump({"registries": {reg: {"url": os.environ["EXTUPDATED_TEST_REGISTRY_URL"]}}}, f)
    env = dict(os.environ, HOME=tmp, XDG_CONFIG_HOME=tmp, DOCKER_CONFIG=tmp)

    # A fully labelled multi-arch image, no tag: the greatest SemVer release (not the pre-release).
    control("/reset-log", {})
    code, out, err = run(ctl, "--json", "validate", "--config", config, reg + "/it/oci-multi", env=env)
    check(code == 0, "valid image exits 0 (got %d: %s %s)" % (code, out, err))
    doc = json.loads(out) if out.startswith("{") else {}
    check(doc.get("valid") is True, "valid: true")
    check(doc.get("errors") == 0 and doc.get("warnings") == 0, "no errors or warnings: %s" % doc.get("checks"))
    check(doc.get("tag") == "1.1.0" and doc.get("tag_from_list") is True, "greatest release tag chosen")
    check(doc.get("image") == reg + "/it/oci-multi:1.1.0", "image named with its tag")
    check(doc.get("digest") == seed["it/oci-multi"]["1.1.0"]["digest"], "index digest")
    check(doc.get("media_type") == "application/vnd.oci.image.index.v1+json", "index media type")
    check(doc.get("platforms") == ["linux/amd64", "linux/arm64"], "platforms without attestations")
    amd64 = seed["it/oci-multi"]["1.1.0"]["platforms"]["linux/amd64"]
    check(doc.get("config_digest") == amd64["config_digest"], "config of linux/amd64 read")
    check(doc.get("labels", {}).get("org.opencontainers.image.title") == "Good extension 1.1", "labels reported")
    kinds = [c["check"] for c in doc.get("checks", [])]
    for kind in ("tag", "platform", "config", "label", "api_version"):
        check(kind in kinds, "check %s reported" % kind)
    # Never a layer: the only blob read is the config.
    reqs = control("/requests")
    blobs = [r["path"] for r in reqs if r["kind"] == "blob"]
    check(blobs == ["/v2/it/oci-multi/blobs/" + amd64["config_digest"]], "only the config blob: %s" % blobs)
    check(all(r["method"] in ("GET", "HEAD") for r in reqs), "read-only requests")

    # Text output of the same, with --platform: a check line per item, each with its mark.
    code, out, err = run(ctl, "validate", "--config", config, "--platform", "linux/arm64",
                         reg + "/it/oci-multi:1.0.0", env=env)
    check(code == 0, "valid image, arm64, exits 0 (got %d: %s %s)" % (code, out, err))
    check("\u2713 tag: 1.0.0 is a SemVer version" in out, "tag line: %s" % out)
    check("\u2713 platform linux/amd64: provided" in out and "\u2713 platform linux/arm64: provided" in out,
          "platform lines")
    check("read for linux/arm64" in out, "config of the requested platform")
    check(out.rstrip().endswith("valid (0 warnings)"), "summary line")

    # A bad image: every problem listed, each with its label.
    code, out, err = run(ctl, "--json", "validate", "--config", config, reg + "/it/bad:1.0.0", env=env)
    check(code == 1, "invalid image exits 1 (got %d: %s)" % (code, err))
    doc = json.loads(out) if out.startswith("{") else {}
    check(doc.get("valid") is False, "valid: false")
    errors = {c["subject"]: c["message"] for c in doc.get("checks", []) if c["status"] == "error"}
    expected = {
        "platform linux/arm64": "not provided",
        "org.opencontainers.image.vendor": "missing",
        "org.opencontainers.image.description": "empty",
        "com.docker.desktop.extension.api.version": ">= banana",
        "com.docker.desktop.extension.icon": "icon.svg",
        "com.docker.extension.screenshots": "JSON",
        "com.docker.extension.categories": "games",
    }
    for subject, text in expected.items():
        check(subject in errors and text in errors[subject], "problem %s (%s): %s" % (subject, text, errors.get(subject)))
    check(doc.get("errors") == len(expected) == len(errors), "exactly the expected problems: %s" % sorted(errors))
    code, out, err = run(ctl, "validate", "--config", config, reg + "/it/bad:1.0.0", env=env)
    check(code == 1, "text: invalid exits 1")
    for subject in expected:
        check(("\u2717 %s: " % subject) in out, "text names %s" % subject)
    check("invalid: 7 problems" in out, "text summary: %s" % out.splitlines()[-1:])

    # A tag that is not SemVer, a repository without SemVer tags, a missing repository.
    code, out, err = run(ctl, "validate", "--config", config, reg + "/it/oci-multi:latest", env=env)
    check(code == 1 and '"latest" is not a SemVer version' in out, "non-SemVer tag: %s" % out)
    code, out, err = run(ctl, "validate", "--config", config, reg + "/it/notsemver", env=env)
    check(code == 1 and "none of the 2 tags is a SemVer version" in out, "no SemVer tag: %s" % out)
    code, out, err = run(ctl, "validate", "--config", config, reg + "/it/missing:1.0.0", env=env)
    check(code == 1 and (reg + "/it/missing:1.0.0: manifest: HTTP 404") in out, "missing repository: %s" % out)
    code, out, err = run(ctl, "validate", "--config", config, reg + "/it/denied:1.0.0", env=env)
    check(code == 1 and "pull access denied" in out, "denied repository: %s" % out)

    # Without any configuration: loopback registries are reached over plain HTTP after HTTPS fails.
    code, out, err = run(ctl, "validate", reg + "/it/oci-multi:1.1.0", env=env)
    check(code == 0, "no config, loopback registry: exit %d %s %s" % (code, out, err))

    # Usage errors.
    code, out, err = run(ctl, "validate", env=env)
    check(code == 1 and "IMAGE" in err, "no image: usage error")
    code, out, err = run(ctl, "validate", reg + "/it/oci-multi@sha256:" + "0" * 64, env=env)
    check(code == 1 and "digest" in err, "digest reference refused: %s" % err)
    code, out, err = run(ctl, "validate", "--platform", "linux", reg + "/it/oci-multi", env=env)
    check(code == 1 and "--platform" in err, "bad platform: %s" % err)
    code, out, err = run(ctl, "validate", "--help", env=env)
    check(code == 0 and "Usage: extupdatectl validate" in out, "help")

    print("test-validate: %d checks, %d failed" % (checks, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
