"""The generated client against a live server: MOXXY_BASE_URL (and MOXXY_INTERNAL_TOKEN when the server has one).

test/python-client.test.ts starts a server and runs this suite; by hand: start `npm start` and run
MOXXY_BASE_URL=http://127.0.0.1:17890 python3 -m unittest discover -s clients/python/tests
"""
import os
import sys
import unittest
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from moxxy_client import (  # noqa: E402
    AuthenticationError,
    EventStream,
    MoxxyClient,
    MoxxyConnectionError,
    MoxxyError,
    MoxxyTimeoutError,
    NotFoundError,
    PermissionDeniedError,
    items,
    models as m,
    pages,
)

BASE_URL = os.environ.get("MOXXY_BASE_URL")
INTERNAL_TOKEN = os.environ.get("MOXXY_INTERNAL_TOKEN") or None


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@unittest.skipUnless(BASE_URL, "needs a live server: set MOXXY_BASE_URL")
class LiveTestCase(unittest.TestCase):
    client: MoxxyClient

    @classmethod
    def setUpClass(cls):
        cls.client = MoxxyClient(BASE_URL, internal_token=INTERNAL_TOKEN, timeout=20)

    def new_agent(self, **fields) -> m.Agent:
        agent = self.client.agents.create(name=unique("py"), **fields)
        self.addCleanup(self._delete_agent, agent.name)
        return agent

    def _delete_agent(self, name: str) -> None:
        try:
            self.client.agents.delete(name=name)
        except NotFoundError:
            pass


class AgentsTest(LiveTestCase):
    def test_creates_reads_updates_lists_and_deletes_an_agent(self):
        created = self.client.agents.create(
            name=unique("crud"),
            description="from python",
            system_prompt="Be brief.",
            model=m.AgentCreateModel(provider="echo", name="echo", parameters=m.ModelParameters(temperature=0.5)),
            max_steps=3,
        )
        self.assertIsInstance(created, m.Agent)
        self.assertEqual((created.description, created.system_prompt, created.max_steps), ("from python", "Be brief.", 3))
        self.assertEqual(created.model.parameters.temperature, 0.5)
        self.assertRegex(created.created_at, r"^\d{4}-\d\d-\d\dT")

        fetched = self.client.agents.get(name=created.name)
        self.assertEqual(fetched, created)

        updated = self.client.agents.update(name=created.name, description="changed", model={"parameters": {"max_tokens": 64}})
        self.assertEqual(updated.description, "changed")
        self.assertEqual((updated.model.parameters.temperature, updated.model.parameters.max_tokens), (0.5, 64))

        names = [agent.name for agent in items(self.client.agents.list, limit=100)]
        self.assertIn(created.name, names)
        self.assertIn("default", names)

        deleted = self.client.agents.delete(name=created.name)
        self.assertEqual((deleted.name, deleted.status), (created.name, "deleted"))
        with self.assertRaises(NotFoundError):
            self.client.agents.get(name=created.name)

    def test_pages_through_a_list_with_limit_and_offset(self):
        prefix = unique("page")
        for index in range(3):
            self.client.agents.create(name=f"{prefix}-{index}")
            self.addCleanup(self._delete_agent, f"{prefix}-{index}")
        first = self.client.agents.list(limit=2)
        self.assertEqual((len(first.agents), first.pagination.limit, first.pagination.offset), (2, 2, 0))
        self.assertGreaterEqual(first.pagination.total, 4)
        self.assertEqual(first.pagination.next_offset, 2)

        walked = list(pages(self.client.agents.list, limit=2))
        self.assertEqual(len(walked), (first.pagination.total + 1) // 2)
        self.assertIsNone(walked[-1].pagination.next_offset)
        names = [agent.name for page in walked for agent in page.agents]
        self.assertEqual(len(names), first.pagination.total)
        self.assertEqual(len(set(names)), len(names))
        self.assertTrue({f"{prefix}-{i}" for i in range(3)} <= set(names))


class ErrorsTest(LiveTestCase):
    def test_raises_agent_not_found_with_code_and_status(self):
        with self.assertRaises(MoxxyError) as caught:
            self.client.agents.get(name="no-such-agent")
        error = caught.exception
        self.assertIsInstance(error, NotFoundError)
        self.assertEqual((error.code, error.status), ("AGENT_NOT_FOUND", 404))
        self.assertIn("no-such-agent", error.message)

    def test_raises_validation_error_with_issues(self):
        with self.assertRaises(MoxxyError) as caught:
            self.client.agents.create(name="Not A Slug!")
        self.assertEqual((caught.exception.code, caught.exception.status), ("VALIDATION_ERROR", 400))
        self.assertTrue(caught.exception.details.get("issues"))

    def test_raises_a_connection_error_when_nothing_listens(self):
        with self.assertRaises(MoxxyConnectionError) as caught:
            MoxxyClient("http://127.0.0.1:9", timeout=5).system.health()
        self.assertEqual((caught.exception.code, caught.exception.status), ("CONNECTION_ERROR", 0))


class ChatTest(LiveTestCase):
    def test_runs_a_chat_turn_and_keeps_its_history_and_run(self):
        agent = self.new_agent()
        reply = self.client.chat.send(name=agent.name, message="hello from python", user_id="u1")
        self.assertIsInstance(reply, m.ChatReply)
        self.assertEqual(reply.content, "hello from python")  # the offline echo provider
        self.assertEqual(reply.agent_id, agent.name)
        self.assertTrue(reply.run_id.startswith("run_"))
        self.assertGreater(reply.usage.output_tokens, 0)

        again = self.client.chat.send(name=agent.name, message="second", session_id=reply.session_id)
        self.assertEqual(again.session_id, reply.session_id)
        history = self.client.chat.history(name=agent.name, session_id=reply.session_id)
        self.assertEqual([(msg.role, msg.content) for msg in history.messages], [
            ("user", "hello from python"),
            ("assistant", "hello from python"),
            ("user", "second"),
            ("assistant", "second"),
        ])

        run = self.client.runs.get(id=reply.run_id)
        self.assertEqual((run.status, run.output), ("completed", "hello from python"))

    def test_streams_a_chat_answer_as_parsed_chunks(self):
        agent = self.new_agent()
        stream = self.client.chat.stream_get(name=agent.name, message="stream these words")
        self.assertIsInstance(stream, EventStream)
        with stream:
            chunks = [message.value for message in stream]
        text = "".join(c.content for c in chunks if isinstance(c, m.ChatStreamContent))
        done = chunks[-1]
        self.assertIsInstance(done, m.ChatStreamDone)
        self.assertEqual({c.run_id for c in chunks}, {done.run_id})
        self.assertEqual((done.done, done.status, done.content), (True, "completed", "stream these words"))
        self.assertEqual(text, "stream these words")
        self.assertEqual(self.client.runs.get(id=done.run_id).output, "stream these words")

    def test_streams_with_a_json_body(self):
        agent = self.new_agent()
        with self.client.chat.stream_post(name=agent.name, message="posted") as stream:
            done = [message.value for message in stream][-1]
        self.assertEqual((done.status, done.content), ("completed", "posted"))

    def test_streaming_an_unknown_agent_raises_before_the_stream(self):
        with self.assertRaises(NotFoundError) as caught:
            self.client.chat.stream_get(name="no-such-agent", message="hi")
        self.assertEqual(caught.exception.code, "AGENT_NOT_FOUND")


class EventsTest(LiveTestCase):
    def test_follows_the_live_event_stream_and_resumes_with_last_event_id(self):
        agent = self.new_agent()
        with self.client.events.stream(agent_id=agent.name, timeout=20) as stream:
            reply = self.client.chat.send(name=agent.name, message="watch me")
            seen = []
            for message in stream:
                self.assertIsInstance(message.value, m.Event)
                self.assertEqual(message.id, message.value.event_id)
                seen.append(message.value)
                if message.value.event_type == "run.completed":
                    break
            last_id = stream.last_event_id
        self.assertEqual(seen[0].event_type, "run.started")
        self.assertEqual({e.run_id for e in seen}, {reply.run_id})
        self.assertEqual([e.sequence for e in seen], sorted(e.sequence for e in seen))
        self.assertEqual(last_id, seen[-1].event_id)

        with self.client.events.stream(agent_id=agent.name, last_event_id=seen[0].event_id, timeout=20) as resumed:
            replayed = [next(resumed).value, next(resumed).value]
        self.assertEqual([e.event_id for e in replayed], [e.event_id for e in seen[1:3]])

    def test_a_quiet_stream_times_out(self):
        with self.client.events.stream(run_id="run_nothing_here", timeout=1) as stream:
            with self.assertRaises(MoxxyTimeoutError) as caught:
                next(iter(stream))
        self.assertEqual((caught.exception.code, caught.exception.status), ("TIMEOUT", 0))

    def test_a_runs_event_stream_ends_with_the_run(self):
        agent = self.new_agent()
        reply = self.client.chat.send(name=agent.name, message="done soon")
        with self.client.runs.event_stream(id=reply.run_id) as stream:
            types = [message.value.event_type for message in stream]
        self.assertEqual((types[0], types[-1]), ("run.started", "run.completed"))
        self.assertIn("message.assistant", types)
        audit = self.client.events.audit(run_id=reply.run_id)
        self.assertEqual([e.event_type for e in audit.events], types)


class MemoryTest(LiveTestCase):
    def test_adds_searches_and_deletes_memories(self):
        agent = self.new_agent()
        sky = self.client.memory.add(name=agent.name, content="The sky over Lisbon is blue", user_id="ana", tags=["weather"], metadata={"source": "py"})
        self.client.memory.add(name=agent.name, content="Ana prefers green tea", user_id="ana")
        self.assertTrue(sky.id.startswith("mem_"))
        self.assertEqual((sky.tags, sky.metadata, sky.user_id), (["weather"], {"source": "py"}, "ana"))

        found = self.client.memory.list(name=agent.name, query="sky Lisbon", user_id="ana")
        self.assertEqual(found.memories[0].id, sky.id)
        self.assertGreater(found.memories[0].relevance_score, 0)
        self.assertLessEqual(found.memories[0].relevance_score, 1)

        self.client.memory.delete(name=agent.name, id=sky.id)
        remaining = self.client.memory.list(name=agent.name)
        self.assertEqual([mem.content for mem in remaining.memories], ["Ana prefers green tea"])


class TokensTest(LiveTestCase):
    def test_a_scoped_bearer_token_reads_but_may_not_write(self):
        created = self.client.tokens.create(name=unique("ro"), scopes=["agents:read"])
        self.assertTrue(created.token.startswith("mox_"))
        limited = MoxxyClient(BASE_URL, token=created.token)
        self.assertIn("default", [agent.name for agent in limited.agents.list().agents])
        with self.assertRaises(PermissionDeniedError) as caught:
            limited.agents.create(name=unique("denied"))
        self.assertEqual((caught.exception.code, caught.exception.status), ("FORBIDDEN", 403))
        with self.assertRaises(PermissionDeniedError):
            limited.memory.list(name="default")

        self.client.tokens.revoke(id=created.id)
        with self.assertRaises(AuthenticationError) as revoked:
            limited.agents.list()
        self.assertEqual((revoked.exception.code, revoked.exception.status), ("UNAUTHORIZED", 401))

    @unittest.skipUnless(INTERNAL_TOKEN, "needs MOXXY_INTERNAL_TOKEN, the server's internal token")
    def test_requests_without_credentials_are_refused_when_the_server_has_an_internal_token(self):
        with self.assertRaises(AuthenticationError) as caught:
            MoxxyClient(BASE_URL).agents.list()
        self.assertEqual(caught.exception.code, "UNAUTHORIZED")
        self.assertEqual(MoxxyClient.from_env().agents.get(name="default").name, "default")


class RawRoutesTest(LiveTestCase):
    def test_reads_routes_without_the_envelope(self):
        self.assertEqual(self.client.channel_http.health().status, "ok")
        health = self.client.system.health()
        self.assertEqual(health.status, "ok")
        document = self.client.system.openapi()
        self.assertEqual(document["info"]["title"], "Moxxy server API")
        self.assertIn("/api/agents/{name}", document["paths"])


class VaultTest(LiveTestCase):
    def test_stores_and_reads_a_secret(self):
        agent = self.new_agent()
        stored = self.client.vault.set(name=agent.name, key="API_KEY", value="s3cret")
        self.assertEqual((stored.key, stored.created), ("API_KEY", True))
        self.assertEqual([s.key for s in self.client.vault.list(name=agent.name).secrets], ["API_KEY"])
        self.assertEqual(self.client.vault.get(name=agent.name, key="API_KEY").value, "s3cret")


if __name__ == "__main__":
    unittest.main()
