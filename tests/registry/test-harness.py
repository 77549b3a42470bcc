#!/usr/bin/python3
# Self-test of the registry harness: token auth, seeding, pagination, mutations, request log, control API, CLI, skopeo.
import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402
import images  # noqa: E402

passed = 0
failed = 0


def check(cond, what, *values):
    global passed, failed
    if cond:
        passed += 1
        return True
    failed += 1
    frame = sys._getframe(1)
    print("FAIL %s:%d: %s %s" % (os.path.basename(frame.f_code.co_filename), frame.f_lineno, what,
                                  " ".join(repr(v)[:400] for v in values)), flush=True)
    return False


def http(method, url, headers=None, body=None):
    """(status, headers, body) without raising on HTTP errors."""
    req = urllib.request.Request(url, method=method, headers=headers or {}, data=body)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def token(h, scopes, creds=None):
    query = urllib.parse.urlencode([("service", "registry.docker.io")] + [("scope", s) for s in scopes])
    headers = {}
    if creds:
        headers["Authorization"] = "Basic " + base64.b64encode(creds.encode()).decode()
    status, _, body = http("GET", h.token_url + "?" + query, headers)
    return status, (json.loads(body) if status == 200 else body)


def claims(jwt):
    part = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def bearer(tok):
    return {"Authorization": "Bearer " + tok, "Accept": images.ACCEPT_ALL}


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def ext_labels(version, api=">= 0.3.3"):
    return images.extension_labels("Multi", version, api)


SPEC = {"repositories": {
    "acme/multi": {"tags": {
        "1.0.0": {"labels": ext_labels("1.0.0"), "platforms": ["linux/amd64", "linux/arm64"], "attestations": True},
        "v1.1.0": {"labels": ext_labels("1.1.0", ">= 0.4.0"), "platforms": ["linux/amd64", "linux/arm64/v8"],
                   "attestations": True},
        "1.1.0-copy": {"labels": ext_labels("1.1.0", ">= 0.4.0"), "platforms": ["linux/amd64", "linux/arm64/v8"],
                       "attestations": True},
        "latest": "1.0.0",
    }},
    "acme/docker": {"tags": {
        "2.0.0": {"labels": {"org.opencontainers.image.title": "Docker"}, "media": "docker",
                  "platforms": ["linux/arm64"], "single": True},
    }},
    "acme/many": {"tags": {"0.%d.0" % i: {"labels": {"n": str(i)}, "platforms": ["linux/amd64"]} for i in range(150)}},
    "acme/secret": {"denied": True, "tags": {"1.0.0": {"platforms": ["linux/amd64"]}}},
    "acme/private": {"private": True, "tags": {"1.0.0": {"platforms": ["linux/amd64"]}}},
}}


def test_auth(h):
    url = h.registry_url + "/v2/acme/multi/tags/list"
    status, headers, _ = http("GET", url)
    check(status == 401, "anonymous tags list needs a token", status)
    challenge = images.www_authenticate_params(headers.get("WWW-Authenticate"))
    check(headers.get("WWW-Authenticate", "").startswith("Bearer "), "bearer challenge", headers.get("WWW-Authenticate"))
    check(challenge.get("realm") == h.token_url, "realm is the token server", challenge)
    check(challenge.get("service") == "registry.docker.io", "service", challenge)
    check(challenge.get("scope") == "repository:acme/multi:pull", "scope", challenge)

    status, body = token(h, ["repository:acme/multi:pull", "repository:acme/docker:pull", "repository:acme/many:pull"])
    check(status == 200, "multi-scope token", status, body)
    c = claims(body["token"])
    check(c["iss"] == "extupdated-test-issuer" and c["aud"] == "registry.docker.io", "claims iss/aud", c)
    check(c["exp"] - c["iat"] == 300 and body["expires_in"] == 300, "expiry", c, body.get("expires_in"))
    check(sorted(a["name"] for a in c["access"]) == ["acme/docker", "acme/many", "acme/multi"] and
          all(a["actions"] == ["pull"] for a in c["access"]), "access of anonymous token", c["access"])
    for repo in ("acme/multi", "acme/docker", "acme/many"):
        status, _, body2 = http("GET", "%s/v2/%s/tags/list" % (h.registry_url, repo), bearer(body["token"]))
        check(status == 200 and json.loads(body2)["name"] == repo, "one token serves every scope", repo, status)
    status, _, _ = http("PUT", h.registry_url + "/v2/acme/multi/manifests/x", bearer(body["token"]), b"{}")
    check(status == 401, "anonymous token cannot push", status)

    status, body = token(h, ["repository:acme/secret:pull"])
    check(status == 200 and claims(body["token"])["access"][0]["actions"] == [], "denied repo: token without access", body)
    status, headers, err = http("GET", h.registry_url + "/v2/acme/secret/tags/list", bearer(body["token"]))
    check(status == 401 and b"UNAUTHORIZED" in err, "denied repository refused", status, err)
    check('error="insufficient_scope"' in headers.get("WWW-Authenticate", ""), "insufficient_scope", headers.get("WWW-Authenticate"))
    status, body = token(h, ["repository:acme/secret:pull"], "tester:tester-password")
    check(claims(body["token"])["access"][0]["actions"] == [], "denied even for the user", body)

    status, body = token(h, ["repository:acme/private:pull"])
    status, _, _ = http("GET", h.registry_url + "/v2/acme/private/tags/list", bearer(body["token"]))
    check(status == 401, "private repository refused anonymously", status)
    status, body = token(h, ["repository:acme/private:pull"], "tester:tester-password")
    status, _, _ = http("GET", h.registry_url + "/v2/acme/private/tags/list", bearer(body["token"]))
    check(status == 200, "private repository allowed to the user", status)

    status, body = token(h, ["repository:acme/multi:pull"], "tester:wrong")
    check(status == 401, "wrong password refused", status, body)
    status, body = token(h, ["not-a-scope"])
    check(status == 400, "malformed scope refused", status, body)
    status, _, body = http("POST", h.token_url, {"Content-Type": "application/x-www-form-urlencoded"},
                           urllib.parse.urlencode({"grant_type": "password", "username": "tester",
                                                   "password": "tester-password", "service": "registry.docker.io",
                                                   "scope": "repository:acme/multi:pull,push repository:acme/many:pull",
                                                   "client_id": "test"}).encode())
    check(status == 200 and [a["actions"] for a in claims(json.loads(body)["access_token"])["access"]] ==
          [["pull", "push"], ["pull"]], "OAuth2 password grant", status, body)


def test_content(h, result):
    status, body = token(h, ["repository:acme/multi:pull", "repository:acme/docker:pull"])
    tok = body["token"]
    multi = result["acme/multi"]
    status, headers, data = http("GET", h.registry_url + "/v2/acme/multi/manifests/1.0.0", bearer(tok))
    check(status == 200 and headers["Content-Type"] == images.OCI_INDEX, "index content type", status, headers.get("Content-Type"))
    check(headers["Docker-Content-Digest"] == sha(data) == multi["1.0.0"]["digest"], "index digest",
          headers.get("Docker-Content-Digest"), multi["1.0.0"])
    index = json.loads(data)
    plats = [m["platform"] for m in index["manifests"]]
    check(plats == [{"architecture": "amd64", "os": "linux"}, {"architecture": "arm64", "os": "linux"},
                    {"architecture": "unknown", "os": "unknown"}, {"architecture": "unknown", "os": "unknown"}],
          "platforms then attestations", plats)
    att = index["manifests"][2]
    check(att["annotations"] == {"vnd.docker.reference.digest": index["manifests"][0]["digest"],
                                 "vnd.docker.reference.type": "attestation-manifest"}, "attestation annotations", att)
    check(multi["latest"]["digest"] == multi["1.0.0"]["digest"], "alias shares the digest", multi["latest"])
    check(multi["v1.1.0"]["digest"] == multi["1.1.0-copy"]["digest"], "equal specs share the digest")
    check(multi["v1.1.0"]["digest"] != multi["1.0.0"]["digest"], "different specs differ")
    status, headers, _ = http("HEAD", h.registry_url + "/v2/acme/multi/manifests/latest", bearer(tok))
    check(headers.get("Docker-Content-Digest") == multi["1.0.0"]["digest"], "HEAD latest", headers.get("Docker-Content-Digest"))

    arm = multi["v1.1.0"]["platforms"]["linux/arm64/v8"]
    status, headers, data = http("GET", h.registry_url + "/v2/acme/multi/manifests/" + arm["digest"], bearer(tok))
    manifest = json.loads(data)
    check(status == 200 and manifest["config"]["digest"] == arm["config_digest"], "platform manifest", status, manifest)
    status, _, data = http("GET", h.registry_url + "/v2/acme/multi/blobs/" + arm["config_digest"], bearer(tok))
    config = json.loads(data)
    check(sha(data) == arm["config_digest"], "config digest")
    check(config["architecture"] == "arm64" and config.get("variant") == "v8", "config platform", config.get("architecture"))
    check(config["config"]["Labels"] == ext_labels("1.1.0", ">= 0.4.0"), "config labels", config["config"].get("Labels"))
    status, _, data = http("GET", h.registry_url + "/v2/acme/multi/blobs/" + manifest["layers"][0]["digest"], bearer(tok))
    check(status == 200 and data[:2] == b"\x1f\x8b", "layer is gzip", status, data[:4])

    status, headers, data = http("GET", h.registry_url + "/v2/acme/docker/manifests/2.0.0", bearer(tok))
    check(headers.get("Content-Type") == images.DOCKER_MANIFEST, "docker v2 manifest", headers.get("Content-Type"))
    manifest = json.loads(data)
    check(manifest["config"]["mediaType"] == images.DOCKER_CONFIG and
          manifest["layers"][0]["mediaType"] == images.DOCKER_LAYER, "docker media types", manifest)
    status, _, data = http("GET", h.registry_url + "/v2/acme/docker/blobs/" + manifest["config"]["digest"], bearer(tok))
    check(json.loads(data)["architecture"] == "arm64", "single manifest carries its platform in the config")


def test_pagination(h):
    status, body = token(h, ["repository:acme/many:pull"])
    tok = body["token"]
    status, headers, data = http("GET", h.registry_url + "/v2/acme/many/tags/list?n=100", bearer(tok))
    first = json.loads(data)["tags"]
    link = headers.get("Link")
    check(status == 200 and len(first) == 100, "first page has 100 tags", status, len(first))
    check(link is not None and link.endswith('>; rel="next"') and link.startswith("</v2/acme/many/tags/list?"), "Link next", link)
    if link:
        status, headers, data = http("GET", h.registry_url + link[1:link.index(">")], bearer(tok))
        second = json.loads(data)["tags"]
        check(status == 200 and len(second) == 50, "second page has the rest", status, len(second))
        check(headers.get("Link") is None, "no Link on the last page", headers.get("Link"))
        check(sorted(first + second) == sorted("0.%d.0" % i for i in range(150)) and not set(first) & set(second),
              "pages cover every tag once")
    status, _, data = http("GET", h.registry_url + "/v2/acme/many/tags/list", bearer(tok))
    check(len(json.loads(data)["tags"]) == 150, "no n: every tag")
    status, _, _ = http("GET", h.registry_url + "/v2/acme/many/tags/list?n=-1", bearer(tok))
    check(status == 400, "invalid n refused", status)
    h.configure(tags_page_cap=100)
    status, headers, data = http("GET", h.registry_url + "/v2/acme/many/tags/list", bearer(tok))
    check(len(json.loads(data)["tags"]) == 100 and headers.get("Link"), "page cap without n", headers.get("Link"))
    h.configure(tags_page_cap=0)


def test_log(h):
    h.reset_log()
    status, body = token(h, ["repository:acme/multi:pull", "repository:acme/many:pull"])
    tok = body["token"]
    http("GET", h.registry_url + "/v2/")
    http("GET", h.registry_url + "/v2/acme/multi/tags/list", bearer(tok))
    http("GET", h.registry_url + "/v2/acme/many/tags/list?n=100", bearer(tok))
    http("HEAD", h.registry_url + "/v2/acme/multi/manifests/latest", bearer(tok))
    http("HEAD", h.registry_url + "/v2/acme/multi/manifests/v1.1.0", bearer(tok))
    http("GET", h.registry_url + "/v2/acme/multi/manifests/latest", bearer(tok))
    http("GET", h.registry_url + "/v2/acme/multi/tags/list")
    counts = h.counts()
    check(counts == {"GET token": 1, "GET base": 1, "GET tags": 3, "HEAD manifest": 2, "GET manifest": 1, "total": 8},
          "counts by method and kind", counts)
    entries = h.requests()
    reg = [e for e in entries if e["server"] == "registry"]
    check(len(reg) == 7 and [e["status"] for e in reg] == [401, 200, 200, 200, 200, 200, 401], "statuses from the registry log",
          [(e["path"], e["status"]) for e in reg])
    check(reg[2]["path"] == "/v2/acme/many/tags/list?n=100" and reg[2]["repository"] == "acme/many", "path with query", reg[2])
    tok_entry = [e for e in entries if e["server"] == "token"]
    check(len(tok_entry) == 1 and tok_entry[0]["scopes"] == ["repository:acme/multi:pull", "repository:acme/many:pull"],
          "token scopes logged", tok_entry)
    with open(h.access_log_path) as f:
        lines = [json.loads(line) for line in f]
    seqs = {e["seq"] for e in entries}
    check(seqs <= {e["seq"] for e in lines}, "JSON-lines file has the entries")
    check(any(e["harness"] for e in lines), "harness requests marked in the file")
    check(len(h.requests(all=True, include_harness=True)) > len(h.requests(all=True)), "harness requests filtered")

    status, _, body = http("GET", h.control_url + "/counts")
    check(status == 200 and json.loads(body) == counts, "GET /_harness/counts", body)
    status, _, body = http("POST", h.control_url + "/reset-log", body=b"")
    status, _, body = http("GET", h.control_url + "/requests")
    check(status == 200 and json.loads(body) == [], "reset-log empties the view", body)


def test_mutations(h):
    creds = "tester:tester-password"
    status, body = token(h, ["repository:acme/mut:pull"], creds)
    tok = body["token"]

    def tags():
        status, _, data = http("GET", h.registry_url + "/v2/acme/mut/tags/list", bearer(tok))
        return sorted(json.loads(data)["tags"] or []) if status == 200 else status

    r = h.add_tag("acme/mut", "1.0.0", {"labels": {"v": "1"}, "platforms": ["linux/amd64"]})
    h.add_tag("acme/mut", "1.1.0", {"labels": {"v": "2"}, "platforms": ["linux/amd64"]})
    check(tags() == ["1.0.0", "1.1.0"], "add_tag", tags())
    info = h.retag("acme/mut", "latest", "1.1.0")
    check(tags() == ["1.0.0", "1.1.0", "latest"] and info["digest"] == h.digests["acme/mut"]["1.1.0"]["digest"], "retag", info)
    h.retag("acme/mut", "latest", r["digest"])
    status, headers, _ = http("HEAD", h.registry_url + "/v2/acme/mut/manifests/latest", bearer(tok))
    check(headers.get("Docker-Content-Digest") == r["digest"], "retag to a digest moves the tag", headers.get("Docker-Content-Digest"))
    h.delete_tag("acme/mut", "1.1.0")
    check(tags() == ["1.0.0", "latest"], "delete_tag removes one tag", tags())
    h.delete_manifest("acme/mut", "latest")
    check(tags() == [], "delete_manifest removes every tag on it", tags())
    status, _, _ = http("HEAD", h.registry_url + "/v2/acme/mut/manifests/" + r["digest"], bearer(tok))
    check(status == 404, "deleted manifest is gone", status)
    again = h.add_tag("acme/mut", "1.0.0", {"labels": {"v": "1"}, "platforms": ["linux/amd64"]})
    status, headers, _ = http("HEAD", h.registry_url + "/v2/acme/mut/manifests/1.0.0", bearer(tok))
    check(status == 200 and again["digest"] == r["digest"] == headers.get("Docker-Content-Digest"),
          "a deleted manifest can be pushed again", status)
    h.delete_manifest("acme/mut", "1.0.0")

    status, _, body = http("POST", h.control_url + "/seed", {"Content-Type": "application/json"},
                           json.dumps({"repositories": {"acme/mut": {"tags": {"2.0.0": {"platforms": ["linux/amd64"]},
                                                                              "latest": "2.0.0"}}}}).encode())
    check(status == 200 and json.loads(body)["acme/mut"]["latest"]["digest"] == json.loads(body)["acme/mut"]["2.0.0"]["digest"],
          "POST /_harness/seed", status, body)
    status, _, body = http("POST", h.control_url + "/retag", body=json.dumps(
        {"repository": "acme/mut", "tag": "stable", "target": "2.0.0"}).encode())
    check(status == 200 and "stable" in tags(), "POST /_harness/retag", status, body)
    status, _, body = http("POST", h.control_url + "/delete", body=json.dumps({"repository": "acme/mut", "tag": "stable"}).encode())
    check(status == 200 and tags() == ["2.0.0", "latest"], "POST /_harness/delete tag", status, tags())
    status, _, body = http("POST", h.control_url + "/delete", body=json.dumps({"repository": "acme/mut", "manifest": "2.0.0"}).encode())
    check(status == 200 and tags() == [], "POST /_harness/delete manifest", status, tags())
    status, _, body = http("POST", h.control_url + "/seed", body=b'{"repositories": {"Bad Name": {}}}')
    check(status == 400 and b"invalid repository name" in body, "bad seed spec refused", status, body)
    with open(h.env()["EXTUPDATED_TEST_SEED_RESULT"]) as f:
        check("acme/multi" in json.load(f), "seed result file")


def test_storage_seed(h):
    result = h.generate(3, 4, incompatible=1)
    check(sorted(result) == ["bench/ext-0000", "bench/ext-0001", "bench/ext-0002"], "generated repositories", sorted(result))
    status, body = token(h, ["repository:bench/ext-0002:pull"])
    tok = body["token"]
    status, _, data = http("GET", h.registry_url + "/v2/bench/ext-0002/tags/list", bearer(tok))
    check(status == 200 and sorted(json.loads(data)["tags"]) == ["1.0.0", "1.1.0", "1.2.0", "1.3.0", "latest"],
          "storage-seeded tags list", status, data)
    info = result["bench/ext-0002"]["1.3.0"]
    status, headers, data = http("GET", h.registry_url + "/v2/bench/ext-0002/manifests/latest", bearer(tok))
    check(status == 200 and headers.get("Docker-Content-Digest") == info["digest"] == sha(data), "storage-seeded manifest",
          status, headers.get("Docker-Content-Digest"))
    cfg = info["platforms"]["linux/amd64"]["config_digest"]
    status, _, data = http("GET", h.registry_url + "/v2/bench/ext-0002/blobs/" + cfg, bearer(tok))
    labels = json.loads(data)["config"]["Labels"] if status == 200 else {}
    check(labels.get("com.docker.desktop.extension.api.version") == ">= 0.9.0", "incompatible newest", labels)
    status, _, data = http("GET", h.registry_url + "/v2/bench/ext-0002/blobs/" +
                           result["bench/ext-0002"]["1.2.0"]["platforms"]["linux/amd64"]["config_digest"], bearer(tok))
    check(json.loads(data)["config"]["Labels"]["com.docker.desktop.extension.api.version"] == ">= 0.3.3", "compatible older")
    api = images.seed_with(images.StorageWriter(tempfile.mkdtemp(dir=h.tmp)), images.generate_spec(1, 1))
    check(api["bench/ext-0000"]["1.0.0"] == h.digests["bench/ext-0000"]["1.0.0"], "deterministic digests")


def test_front(h):
    status, body = token(h, ["repository:acme/multi:pull"])
    tok = body["token"]
    h.configure(pull_limit=2)
    url = h.registry_url + "/v2/acme/multi/manifests/latest"
    status, headers, _ = http("HEAD", url, bearer(tok))
    check(status == 200 and headers.get("ratelimit-remaining") == "2;w=21600", "HEAD is not a pull", headers.get("ratelimit-remaining"))
    statuses = [http("GET", url, bearer(tok))[0] for _ in range(3)]
    check(statuses == [200, 200, 429], "pull limit", statuses)
    h.configure(pull_limit=None)
    status, _, _ = http("GET", url, bearer(tok))
    check(status == 200, "pull limit lifted", status)
    entries = [e for e in h.requests() if e["server"] == "front"]
    check(len(entries) == 1 and entries[0]["status"] == 429, "429 answered by the front is logged", entries)

    status, _, body = http("POST", h.control_url + "/config", body=json.dumps({"fail_next": 1, "fail_retry_after": 2,
                                                                             "omit_expires_in": True}).encode())
    check(status == 200 and json.loads(body)["fail_next"] == 1, "POST /_harness/config", body)
    status, _, _ = http("GET", h.token_url + "?service=registry.docker.io&scope=repository:acme/multi:pull")
    check(status == 503, "injected token failure", status)
    status, _, body = http("GET", h.token_url + "?service=registry.docker.io&scope=repository:acme/multi:pull")
    check(status == 200 and "expires_in" not in json.loads(body), "expires_in omitted", body[:80])
    h.configure(omit_expires_in=False)
    status, _, body = http("POST", h.control_url + "/config", body=b'{"bogus": 1}')
    check(status == 400, "unknown setting refused", status, body)


def test_skopeo(h):
    if shutil.which("skopeo") is None:
        print("skopeo not installed: skipping the skopeo checks")
        return
    base = ["skopeo", "--override-os", "linux", "--override-arch", "amd64"]
    ref = "docker://%s/acme/multi" % h.registry
    out = subprocess.run(base + ["inspect", "--tls-verify=false", ref + ":latest"], capture_output=True, text=True)
    check(out.returncode == 0, "skopeo inspect", out.stderr)
    if out.returncode == 0:
        doc = json.loads(out.stdout)
        check(doc["Labels"] == ext_labels("1.0.0") and doc["Architecture"] == "amd64", "skopeo sees the labels", doc.get("Labels"))
    out = subprocess.run(base + ["inspect", "--raw", "--tls-verify=false", ref + ":1.0.0"], capture_output=True, text=True)
    check(out.returncode == 0 and sha(out.stdout.encode()) == h.digests["acme/multi"]["1.0.0"]["digest"],
          "skopeo inspect --raw gives the index bytes", out.stderr)
    out = subprocess.run(base + ["list-tags", "--tls-verify=false", ref], capture_output=True, text=True)
    check(out.returncode == 0 and sorted(json.loads(out.stdout)["Tags"]) == ["1.0.0", "1.1.0-copy", "latest", "v1.1.0"],
          "skopeo list-tags", out.stdout, out.stderr)
    out = subprocess.run(base + ["list-tags", "--tls-verify=false", "docker://%s/acme/secret" % h.registry],
                         capture_output=True, text=True)
    check(out.returncode != 0, "skopeo refused on a denied repository", out.stdout)
    out = subprocess.run(base + ["list-tags", "--tls-verify=false", "--creds", "tester:tester-password",
                                 "docker://%s/acme/private" % h.registry], capture_output=True, text=True)
    check(out.returncode == 0, "skopeo with credentials on a private repository", out.stderr)


def test_cli():
    tmp = tempfile.mkdtemp(prefix="extupdated-harness-test-")
    try:
        spec = os.path.join(tmp, "seed.json")
        with open(spec, "w") as f:
            json.dump({"repositories": {"cli/one": {"tags": {"1.0.0": {"platforms": ["linux/amd64"]}}}}}, f)
        script = (
            "import json, os, sys, urllib.request\n"
            "e = os.environ\n"
            "assert e['EXTUPDATED_TEST_REGISTRY_URL'] == 'http://' + e['EXTUPDATED_TEST_REGISTRY']\n"
            "r = json.load(open(e['EXTUPDATED_TEST_SEED_RESULT']))\n"
            "assert '1.0.0' in r['cli/one'], r\n"
            "assert r['bench/ext-0001']['latest']['digest'] == r['bench/ext-0001']['1.1.0']['digest']\n"
            "cfg = json.load(open(os.path.join(e['EXTUPDATED_TEST_DOCKER_CONFIG'], 'config.json')))\n"
            "assert e['EXTUPDATED_TEST_REGISTRY'] in cfg['auths']\n"
            "try:\n"
            "    urllib.request.urlopen(e['EXTUPDATED_TEST_REGISTRY_URL'] + '/v2/cli/one/tags/list')\n"
            "except urllib.error.HTTPError as err:\n"
            "    assert err.code == 401\n"
            "c = json.load(urllib.request.urlopen(e['EXTUPDATED_TEST_CONTROL_URL'] + '/counts'))\n"
            "assert c == {'GET tags': 1, 'total': 1}, c\n"
            "sys.exit(7)\n")
        out = subprocess.run([sys.executable, os.path.join(HERE, "harness.py"), "run", "--quiet", "--seed", spec,
                              "--generate", "2,2", "--", sys.executable, "-c", script],
                             capture_output=True, text=True, timeout=120)
        check(out.returncode == 7, "harness.py run passes the command's status", out.returncode, out.stderr)

        env_file = os.path.join(tmp, "env")
        proc = subprocess.Popen([sys.executable, os.path.join(HERE, "harness.py"), "serve", "--quiet", "--no-auth",
                                 "--env-file", env_file], stdout=subprocess.PIPE, text=True)
        lines = []
        for line in proc.stdout:
            if line.startswith("# ready"):
                break
            lines.append(line.strip())
        env = dict(line.split("=", 1) for line in lines)
        status, _, body = http("GET", env["EXTUPDATED_TEST_REGISTRY_URL"] + "/v2/")
        check(status == 200 and env["EXTUPDATED_TEST_AUTH"] == "0", "serve --no-auth", status, env)
        with open(env_file) as f:
            check(f.read().splitlines() == lines, "--env-file holds the env lines")
        tmpdir = os.path.dirname(env["EXTUPDATED_TEST_ACCESS_LOG"])
        proc.terminate()
        rc = proc.wait(30)
        check(rc == 0 and not os.path.exists(tmpdir), "serve stops and cleans up on SIGTERM", rc, tmpdir)
        try:
            urllib.request.urlopen(env["EXTUPDATED_TEST_REGISTRY_URL"] + "/v2/", timeout=2)
            stopped = False
        except (urllib.error.URLError, OSError):
            stopped = True
        check(stopped, "registry stopped")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    if not os.access(harness.REGISTRY_BIN, os.X_OK):
        print("%s not installed: skipping" % harness.REGISTRY_BIN)
        return 77
    with harness.Harness() as h:
        result = h.seed(SPEC)
        for test in (test_auth, test_pagination, test_log, test_mutations, test_storage_seed, test_front, test_skopeo):
            test(h)
        test_content(h, result)
    test_cli()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
