"""Parts of the client that need no server: the SSE parser, model (de)serialisation and error reading."""
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from moxxy_client import MoxxyError, NotFoundError, parse_datetime  # noqa: E402
from moxxy_client import models as m  # noqa: E402
from moxxy_client.errors import error_from_response  # noqa: E402
from moxxy_client.sse import SSEDecoder  # noqa: E402


class SseDecoderTest(unittest.TestCase):
    def test_joins_multi_line_data_and_keeps_event_and_id(self):
        messages = SSEDecoder().feed("id: evt_1\nevent: run.started\ndata: {\"a\":\ndata: 1}\n\n")
        self.assertEqual(len(messages), 1)
        self.assertEqual(messages[0].id, "evt_1")
        self.assertEqual(messages[0].event, "run.started")
        self.assertEqual(messages[0].data, '{"a":\n1}')
        self.assertEqual(messages[0].json(), {"a": 1})

    def test_skips_comments_and_empty_messages(self):
        decoder = SSEDecoder()
        self.assertEqual(decoder.feed(": keep-alive\n\n: another\n\n"), [])
        self.assertEqual([msg.data for msg in decoder.feed("data: x\n\n")], ["x"])

    def test_handles_crlf_and_cr_split_across_chunks(self):
        decoder = SSEDecoder()
        chunks = ["data: one\r", "\n\r", "\ndata: two\r\r", "data:three\n", "\n"]
        data = [msg.data for chunk in chunks for msg in decoder.feed(chunk)]
        self.assertEqual(data, ["one", "two", "three"])

    def test_keeps_the_last_event_id_and_reads_retry(self):
        decoder = SSEDecoder()
        first = decoder.feed("id: 7\nretry: 1500\ndata: a\n\n")[0]
        second = decoder.feed("data: b\n\n")[0]
        self.assertEqual((first.id, first.retry), ("7", 1500))
        self.assertEqual((second.id, second.retry), ("7", None))
        self.assertEqual(decoder.last_event_id, "7")

    def test_event_type_defaults_to_message_and_field_without_colon_is_a_name(self):
        messages = SSEDecoder().feed("\ufeffdata\ndata: [DONE]\n\n")
        self.assertEqual(messages[0].event, "message")
        self.assertEqual(messages[0].data, "\n[DONE]")


class ModelsTest(unittest.TestCase):
    def test_round_trips_nested_models_and_leaves_out_unset_optionals(self):
        data = {
            "agents": [
                {
                    "name": "a",
                    "description": "",
                    "model": {"provider": "echo", "name": "echo", "parameters": {"temperature": 1}},
                    "system_prompt": "",
                    "allowed_tools": ["*"],
                    "max_steps": 8,
                    "created_at": "2025-01-02T03:04:05.678Z",
                    "updated_at": "2025-01-02T03:04:05.678Z",
                }
            ],
            "pagination": {"total": 1, "limit": 50, "offset": 0, "next_offset": None},
        }
        page = m.AgentList.from_dict(data)
        self.assertIsInstance(page.agents[0].model, m.ModelSettings)
        self.assertEqual(page.agents[0].model.parameters.temperature, 1.0)
        self.assertIsNone(page.pagination.next_offset)
        out = page.to_dict()
        self.assertEqual(out["agents"][0]["model"]["parameters"], {"temperature": 1.0})
        self.assertIn("next_offset", out["pagination"])  # required and nullable: kept as null

    def test_picks_the_union_variant_that_fits(self):
        self.assertIsInstance(m.MoxxyUserPrompt.from_dict({"type": "user_prompt", "text": "hi"}), m.MoxxyUserPrompt)
        base = {"id": "evt_1", "seq": 0, "ts": 1700000000000, "sessionId": "ses_1", "turnId": "run_1"}
        turn = m.TurnResponse.from_dict(
            {
                "assistant": "hi",
                "events": [
                    {**base, "source": "model", "type": "assistant_chunk", "delta": "hi"},
                    {**base, "seq": 1, "source": "system", "type": "error", "kind": "fatal", "message": "m"},
                ],
            }
        )
        self.assertIsInstance(turn.events[0], m.MoxxyAssistantChunk)
        self.assertIsInstance(turn.events[1], m.MoxxyError)
        self.assertEqual((turn.events[0].turn_id, turn.events[1].kind), ("run_1", "fatal"))

    def test_parse_datetime_reads_the_servers_timestamps(self):
        moment = parse_datetime("2025-01-02T03:04:05.678Z")
        self.assertEqual((moment.year, moment.microsecond, moment.utcoffset().total_seconds()), (2025, 678000, 0))


class ErrorsTest(unittest.TestCase):
    def test_reads_the_error_envelope(self):
        error = error_from_response(404, b'{"success":false,"error":{"code":"AGENT_NOT_FOUND","message":"no","details":{"name":"x"}}}')
        self.assertIsInstance(error, NotFoundError)
        self.assertEqual((error.code, error.status, error.message, error.details), ("AGENT_NOT_FOUND", 404, "no", {"name": "x"}))

    def test_reads_the_channel_error_body_and_plain_text(self):
        channel = error_from_response(503, b'{"error":"no_transcriber","message":"none"}')
        self.assertEqual((channel.code, channel.status, channel.message), ("NO_TRANSCRIBER", 503, "none"))
        text = error_from_response(502, b"Bad Gateway", {"Retry-After": "3"})
        self.assertIsInstance(text, MoxxyError)
        self.assertEqual((text.code, text.message, text.retry_after), ("HTTP_502", "Bad Gateway", 3.0))


if __name__ == "__main__":
    unittest.main()
