"""Tenancy: every query of csf-server is scoped to the caller's organization.

    /usr/bin/python3 server_scope_test.py BUILD/bin

Organization `default` gets an agent with metrics, an enrollment token, an API
key and users. A second organization, made straight in the SQLite database,
gets an admin (a user made in `default` over REST, then moved there). As that
admin, its API key and its viewer, the test walks every route that
docs/api/openapi.yaml names (so a new route is covered as soon as it is
documented), with the ids of `default`'s rows in the paths, and checks that
nothing of `default` is ever visible or changeable: lists hold only the
caller's own rows, `default`'s ids are 404, its rows are the same afterwards,
the live feed carries none of its events; a viewer gets 403 where the document
asks for more, and no token gets 401.
"""
import asyncio
import json
import os
import re
import secrets
import sqlite3
import sys
import threading
import time
import unittest

import websockets

from server_common import Agent, Env, Server, finish

HERE = os.path.dirname(os.path.abspath(__file__))
OPENAPI = os.path.join(HERE, "..", "..", "docs", "api", "openapi.yaml")
PASSWORD = "correct horse battery"
# derived rows the server's own minute tick may add at any time
DERIVED_TABLES = ("agent_metrics_1m", "agent_metrics_1h")
ROLES = {"viewer": 1, "operator": 2, "admin": 3}

BIN = None
env = pb = rpc = None


def setUpModule():
    global env, pb, rpc
    env = Env(BIN)
    from csf.v1 import agent_pb2, agent_pb2_grpc
    pb, rpc = agent_pb2, agent_pb2_grpc


def read_operations(path=OPENAPI):
    """The operations under `paths:`, read line by line as the document's
    header comment promises: path keys at 2 spaces, methods at 4, their
    fields at 6, a request body's one-line JSON `example:` deeper."""
    ops, op, path_key, field, in_paths = [], None, None, None, False
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            text = line.lstrip(" ")
            indent = len(line) - len(text)
            if not text or text.startswith("#"):
                continue
            if indent == 0:
                in_paths = text == "paths:"
                continue
            if not in_paths:
                continue
            key = text.split(":", 1)[0]
            if indent == 2 and text.startswith("/"):
                path_key, op = key, None
            elif indent == 4:
                op = None
                if key in ("get", "put", "post", "delete", "patch", "head", "options", "trace"):
                    op = {"method": key.upper(), "path": path_key, "public": False, "role": None,
                          "example": None, "has_body": False, "responses": set()}
                    ops.append(op)
            elif op and indent == 6:
                field = key
                if text == "security: []":
                    op["public"] = True
                elif key == "x-csf-role":
                    op["role"] = text.split(":", 1)[1].strip()
                elif key == "requestBody":
                    op["has_body"] = True
            elif op and field == "responses" and indent == 8:
                op["responses"].add(key.strip('"'))
            elif op and field == "requestBody" and text.startswith("example: "):
                op["example"] = json.loads(text[len("example: "):])
    return ops


class Db:
    """Straight reads and writes of the server's SQLite database."""

    def __init__(self, server):
        self.path = os.path.join(server.data, "csf.db")

    def run(self, sql, *params):
        db = sqlite3.connect(self.path, timeout=30)
        try:
            with db:  # commits
                return db.execute(sql, params).fetchall()
        finally:
            db.close()

    def tenant_tables(self):
        """Every table whose rows carry organization_id, and its columns."""
        out = {}
        for (name,) in self.run("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"):
            cols = [r[1] for r in self.run("PRAGMA table_info(%s)" % name)]
            if "organization_id" in cols:
                out[name] = cols
        return out

    def snapshot(self, org):
        """All rows of the organization (the organization's own row too)."""
        snap = {"organizations": self.run("SELECT * FROM organizations WHERE id = ?", org)}
        for table, cols in self.tenant_tables().items():
            if table not in DERIVED_TABLES:
                snap[table] = sorted(self.run("SELECT * FROM %s WHERE organization_id = ?" % table, org), key=repr)
        return snap

    def ids(self, org):
        """The id of every row of the organization, in any table (ids the
        server makes: not the row numbers of metrics and logs)."""
        out = {org}
        for table, cols in self.tenant_tables().items():
            if "id" in cols:
                out |= {r[0] for r in self.run("SELECT id FROM %s WHERE organization_id = ?" % table, org)
                        if isinstance(r[0], str)}
        return out

    def ids_of(self, collection, org):
        """An organization's ids for the {id} of /COLLECTION/{id}, from the
        table named after the collection (api-keys: api_keys) or the same
        with agent_ in front (tasks: agent_tasks)."""
        tables = self.tenant_tables()
        for table in (collection.replace("-", "_"), "agent_" + collection.replace("-", "_")):
            if table in tables and "id" in tables[table]:
                return [r[0] for r in self.run("SELECT id FROM %s WHERE organization_id = ?" % table, org)]
        raise AssertionError("the test does not know which table holds the ids of /%s/{id}: teach ids_of()"
                             % collection)


def stream_metrics(agent, seqs):
    """One StreamMetrics call: Hello, the samples `seqs`, and the end of the
    call once the last is acked (the agent goes offline)."""
    acked = threading.Event()

    def messages():
        yield agent.hello()
        for seq in seqs:
            yield agent.metrics(seq)
        acked.wait(30)

    with agent.channel() as ch:
        call = rpc.AgentServiceStub(ch).StreamMetrics(messages(), timeout=30)
        for reply in call:
            if reply.HasField("ack") and reply.ack.seq >= seqs[-1]:
                break
        acked.set()
        call.cancel()


class ScopeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = srv = Server(BIN, data_dir=os.path.join(env.dir, "server")).start()
        cls.db = Db(srv)
        cls.admin = admin = srv.login()
        cls.default_org = srv.rest("GET", "/api/v1/auth/me", token=admin)[1]["organization_id"]
        cls.seq = 0

        # organization `default`: an agent with metrics, a token, a key, a user
        status, tok = srv.rest("POST", "/api/v1/enrollment-tokens", token=admin,
                               body={"uses": 2, "description": "default-token-desc"})
        assert status == 201, tok
        cls.agent = Agent(srv, pb, rpc, name="default-secret-agent")
        cls.agent.enroll(tok["token"], tags={"owner": "default-tag-value"})
        cls.more_metrics(5)
        status, key = srv.rest("POST", "/api/v1/api-keys", token=admin,
                               body={"name": "default-secret-key", "role": "admin"})
        assert status == 201, key
        status, user = srv.rest("POST", "/api/v1/users", token=admin,
                                body={"username": "default-secret-user", "password": PASSWORD, "role": "operator"})
        assert status == 201, user
        cls.secrets = {tok["token"], key["key"], admin}

        # the other organization, and its admin: a user of `default` moved
        # there before it ever logged in (a session keeps the organization it
        # was made in)
        cls.other_org = secrets.token_hex(16)
        cls.db.run("INSERT INTO organizations (id, name, created_at) VALUES (?, 'other', ?)",
                   cls.other_org, int(time.time() * 1000))
        status, mover = srv.rest("POST", "/api/v1/users", token=admin,
                                 body={"username": "other-admin", "password": PASSWORD, "role": "admin"})
        assert status == 201, mover
        cls.db.run("UPDATE users SET organization_id = ? WHERE id = ?", cls.other_org, mover["id"])
        cls.other = srv.login("other-admin", PASSWORD)
        me = srv.rest("GET", "/api/v1/auth/me", token=cls.other)[1]
        assert me["organization_id"] == cls.other_org, me
        status, okey = srv.rest("POST", "/api/v1/api-keys", token=cls.other, body={"name": "other-key", "role": "admin"})
        assert status == 201, okey
        status, vkey = srv.rest("POST", "/api/v1/api-keys", token=cls.other,
                                body={"name": "other-viewer-key", "role": "viewer"})
        assert status == 201, vkey
        status, viewer = srv.rest("POST", "/api/v1/users", token=cls.other,
                                  body={"username": "other-viewer", "password": PASSWORD, "role": "viewer"})
        assert status == 201, viewer
        cls.other_key, cls.viewer_key = okey["key"], vkey["key"]

        cls.ops = read_operations()
        # what must never show to the other organization: every id of
        # `default`, the names given above, the secrets
        cls.markers = (cls.db.ids(cls.default_org) | cls.secrets |
                       {"default-token-desc", "default-secret-agent", "default-tag-value", "default-secret-key",
                        "default-secret-user", "host-default-secret-agent"})

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    @classmethod
    def more_metrics(cls, n):
        stream_metrics(cls.agent, list(range(cls.seq + 1, cls.seq + n + 1)))
        cls.seq += n

    # ------------------------------------------------------------ helpers

    def wait_offline(self):
        """The agent's stream has ended and its status is written."""
        for _ in range(100):
            if self.db.run("SELECT status FROM agents WHERE id = ?", self.agent.agent_id)[0][0] == "offline":
                return
            time.sleep(0.1)
        self.fail("the default agent never went offline")

    def requests(self, op):
        """(path, body) to send for an operation: each {id} filled with each
        of `default`'s ids of that collection."""
        body = op["example"]
        if op["has_body"]:
            self.assertIsNotNone(body, "%s %s: its request body needs a one-line JSON example"
                                 % (op["method"], op["path"]))
        if "{id}" not in op["path"]:
            return [(op["path"], body)]
        collection = re.search(r"/([^/]+)/\{id\}", op["path"]).group(1)
        ids = self.db.ids_of(collection, self.default_org)
        self.assertTrue(ids, "organization default has no row to try %s with" % op["path"])
        return [(op["path"].replace("{id}", i), body) for i in ids]

    def call(self, op, path, body, token):
        # a username made twice would be 409: each try gets a new one
        if isinstance(body, dict) and "username" in body and op["method"] == "POST" and not op["public"]:
            body = dict(body, username="%s-%s" % (body["username"], secrets.token_hex(4)))
        status, answer = self.srv.rest(op["method"], path, token=token, body=body)
        text = answer.decode(errors="replace") if isinstance(answer, bytes) else json.dumps(answer)
        leaked = [m for m in self.markers if m in text]
        self.assertEqual(leaked, [], "%s %s showed organization default's %r: %s" % (op["method"], path, leaked, text))
        return status, answer

    def rest_ops(self):
        return [op for op in self.ops if "101" not in op["responses"]]

    def check_own_rows_only(self, op, path, answer):
        """Lists hold the caller's organization's rows only; the fleet
        summary counts none of `default`'s agents."""
        if not isinstance(answer, dict):
            return
        own = self.db.ids(self.other_org)
        for item in answer.get("items", []):
            self.assertIn(item.get("id"), own, "%s %s listed a row of another organization: %r"
                          % (op["method"], path, item))
        if isinstance(answer.get("agents"), dict):
            self.assertEqual(answer["agents"]["total"], 0, answer)

    # ------------------------------------------------------------ tests

    def test_document_is_read(self):
        self.assertGreater(len(self.rest_ops()), 10)
        for op in self.ops:
            if not op["public"]:
                self.assertIn(op["role"], ROLES, "%s %s: x-csf-role is missing" % (op["method"], op["path"]))

    def test_ids_are_real(self):
        """The {id}s tried are `default`'s rows: its admin can GET them."""
        for op in self.rest_ops():
            if op["method"] == "GET" and "{id}" in op["path"]:
                for path, _ in self.requests(op):
                    self.assertEqual(self.srv.rest("GET", path, token=self.admin)[0], 200, path)
        status, m = self.srv.rest("GET", "/api/v1/agents/%s/metrics" % self.agent.agent_id, token=self.admin)
        self.assertEqual(status, 200, m)
        self.assertGreater(sum(b["samples"] for b in m["buckets"]), 0, m)

    def walk(self, role, tokens, public=True):
        """Every REST operation as each caller `tokens` makes (a session is
        made anew for each request: one of them logs out). `default`'s ids
        are 404, its rows stay the same, the rest succeeds with the caller's
        own rows only, and an operation above `role` is 403."""
        self.wait_offline()
        before = self.db.snapshot(self.default_org)
        for token, is_key in tokens:
            for op in self.rest_ops():
                if op["public"] and not public:
                    continue
                for path, body in self.requests(op):
                    status, answer = self.call(op, path, body, token())
                    what = "%s %s: %r" % (op["method"], path, answer)
                    if op["public"]:
                        self.assertLess(status, 500, what)
                    elif ROLES[op["role"]] > ROLES[role]:
                        self.assertEqual(status, 403, what)
                    elif "{id}" in op["path"]:
                        self.assertEqual(status, 404, what)
                    elif not (is_key and status == 400 and "400" in op["responses"]):  # keys cannot log out
                        self.assertLess(status, 300, what)
                        self.check_own_rows_only(op, path, answer)
        self.assertEqual(self.db.snapshot(self.default_org), before)

    def test_other_organization_sees_and_changes_nothing(self):
        self.walk("admin", [(lambda: self.srv.login("other-admin", PASSWORD), False),
                            (lambda: self.other_key, True)])
        # and `default` still works as it did
        self.assertEqual(self.srv.rest("GET", "/api/v1/agents/" + self.agent.agent_id, token=self.admin)[0], 200)

    def test_viewer_gets_403_above_its_role(self):
        self.walk("viewer", [(lambda: self.srv.login("other-viewer", PASSWORD), False),
                             (lambda: self.viewer_key, True)], public=False)

    def test_no_token_gets_401(self):
        for token in (None, "csfs_" + "0" * 43, "csfk_" + "0" * 43, "not-a-token"):
            for op in self.rest_ops():
                if op["public"]:
                    continue
                for path, body in self.requests(op):
                    status, answer = self.call(op, path, body, token)
                    self.assertEqual(status, 401, "%s %s with %r: %r" % (op["method"], path, token, answer))
                    self.assertEqual(answer["error"]["code"], "unauthenticated")

    def test_live_feed_carries_no_event_of_another_organization(self):
        """Every WebSocket route: the other organization subscribed to every
        topic (and to `default`'s agent by id) gets none of its events, while
        `default`'s own client gets them."""
        feeds = [op for op in self.ops if "101" in op["responses"]]
        self.assertTrue(feeds)
        for op in feeds:
            url = "ws://127.0.0.1:%d%s" % (self.srv.http_port, op["path"])
            mine, theirs = asyncio.run(self.both_feeds(url))
            self.assertEqual(mine[0]["organization_id"], self.default_org)
            self.assertTrue(any(e["type"] == "metrics" for e in mine), mine)
            self.assertTrue(any(e["type"] == "agent" for e in mine), mine)
            self.assertEqual(theirs[0], {"type": "hello", "user": "other-admin", "role": "admin",
                                         "organization_id": self.other_org})
            self.assertEqual(theirs[1:], [])
        self.wait_offline()

    def feed(self, url):
        return websockets.connect(url, subprotocols=["csf.feed.v1"],
                                  origin="http://127.0.0.1:%d" % self.srv.http_port)

    async def both_feeds(self, url):
        topics = ["agents", "metrics", "metrics:" + self.agent.agent_id]
        mine, theirs = [], []
        async with self.feed(url) as a, self.feed(url) as b:
            for ws, token in ((a, self.admin), (b, self.other)):
                await ws.send(json.dumps({"type": "auth", "token": token}))
                await ws.send(json.dumps({"type": "subscribe", "topics": topics}))
            mine.append(json.loads(await a.recv()))
            theirs.append(json.loads(await b.recv()))
            await asyncio.sleep(0.3)  # the subscriptions are in
            await asyncio.to_thread(self.more_metrics, 3)
            while not any(e["type"] == "agent" and e["status"] == "offline" for e in mine):
                mine.append(json.loads(await asyncio.wait_for(a.recv(), 10)))
            try:  # anything for `b` was sent before `a`'s last event
                while True:
                    theirs.append(json.loads(await asyncio.wait_for(b.recv(), 0.5)))
            except asyncio.TimeoutError:
                pass
        return mine, theirs


if __name__ == "__main__":
    BIN = sys.argv.pop(1)
    sys.exit(finish(unittest.main(verbosity=2, exit=False).result.wasSuccessful()))
