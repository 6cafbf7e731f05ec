#!/usr/bin/env python3
"""Chat-template fixtures for ChatTemplateTest: templates written here in the styles of published checkpoints' formats
(Llama 3, ChatML / Qwen, Mistral [INST], Gemma turns, Phi-3 tags, a reasoning <think> format) and templates exercising
the Jinja features Hugging Face templates use (whitespace control with trim_blocks / lstrip_blocks, namespace(),
loop scoping and controls, macros, Python string methods, tojson, dict methods, printed booleans, transformers'
{% generation %} block), rendered over a
few conversations with Python's jinja2 configured as transformers' apply_chat_template configures it
(ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols, its tojson and raise_exception).

Run from this folder with Debian's python3-jinja2:   /usr/bin/python3 make_chat_template_fixtures.py
Writes chat_templates.json: {specials, templates, conversations, cases: [{template, conversation,
add_generation_prompt, output | error}]}.
Left out, as known differences: list-valued content given to a text-only template (Python prints or rejects the
list), printing none (Jinjava cannot tell it from an undefined value, printed as empty by both), loop.previtem /
loop.nextitem (Jinjava's loop has neither) and slices with a step other than [::-1] of a name or list.
"""
import json

from jinja2 import nodes
from jinja2.exceptions import TemplateError
from jinja2.ext import Extension
from jinja2.sandbox import ImmutableSandboxedEnvironment


def raise_exception(message):
    raise TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


class Generation(Extension):
    """{% generation %}...{% endgeneration %}: its body (transformers' assistant-mask marker, without the mask)."""
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return nodes.CallBlock(self.call_method("_body"), [], [], body).set_lineno(lineno)

    def _body(self, caller):
        return caller()


env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                   extensions=["jinja2.ext.loopcontrols", Generation])
env.filters["tojson"] = tojson
env.globals["raise_exception"] = raise_exception

T = {}
T['llama3'] = '''{{- bos_token }}
{%- if not date_string is defined %}
    {%- set date_string = "26 Jul 2024" %}
{%- endif %}
{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content']|trim %}
    {%- set messages = messages[1:] %}
{%- else %}
    {%- set system_message = "" %}
{%- endif %}
{{- "<|start_header_id|>system<|end_header_id|>\\n\\n" }}
{{- "Today Date: " + date_string + "\\n\\n" }}
{{- system_message }}
{{- "<|eot_id|>" }}
{%- for message in messages %}
    {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' }}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}
{%- endif %}
'''
T['qwen'] = '''{%- if messages[0].role == 'system' %}
{{- '<|im_start|>system\\n' + messages[0].content + '<|im_end|>\\n' }}
{%- else %}
{{- '<|im_start|>system\\nYou answer questions.<|im_end|>\\n' }}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant") %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
{%- endif %}
'''
T['mistral'] = '''{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content'] %}
    {%- set loop_messages = messages[1:] %}
{%- else %}
    {%- set loop_messages = messages %}
{%- endif %}

{{- bos_token }}
{%- for message in loop_messages %}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}
        {{- raise_exception('roles must go user, assistant, user, ... after an optional system message') }}
    {%- endif %}
    {%- if message['role'] == 'user' %}
        {%- if loop.last and system_message is defined %}
            {{- '[INST] ' + system_message + '\\n\\n' + message['content'] + '[/INST]' }}
        {%- else %}
            {{- '[INST] ' + message['content'] + '[/INST]' }}
        {%- endif %}
    {%- elif message['role'] == 'assistant' %}
        {{- ' ' + message['content']|trim + eos_token}}
    {%- else %}
        {{- raise_exception('unsupported role') }}
    {%- endif %}
{%- endfor %}
'''
T['gemma'] = "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('this format has no system role') }}{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('user and assistant turns must alternate') }}{% endif %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif %}"
T['phi3'] = '''{% for message in messages %}
{% if message['role'] == 'system' %}
{{'<|system|>
' + message['content'] + '<|end|>
'}}
{% elif message['role'] == 'user' %}
{{'<|user|>
' + message['content'] + '<|end|>
'}}
{% elif message['role'] == 'assistant' %}
{{'<|assistant|>
' + message['content'] + '<|end|>
'}}
{% endif %}
{% endfor %}
{% if add_generation_prompt %}
{{ '<|assistant|>
' }}
{% else %}
{{ eos_token }}
{% endif %}'''
T['scope'] = "{% set last_role = 'none' %}{% for m in messages %}{% set last_role = m.role %}{{ last_role }};{% endfor %}after={{ last_role }}"
T['namespace'] = '''{%- set ns = namespace(found=false, count=0, sys='') -%}
{%- for m in messages -%}
{%- if m['role'] == 'system' -%}{%- set ns.found = true -%}{%- set ns.sys = m['content'] -%}{%- endif -%}
{%- set ns.count = ns.count + 1 -%}
{%- endfor -%}
{%- if ns.found %}S[{{ ns.sys }}]{% endif %}n={{ ns.count }} u={{ messages|selectattr('role','equalto','user')|list|length }} roles={{ messages|map(attribute='role')|join(',') }} last={{ (messages|last)['role'] }}/{{ messages[-1].role }} half={{ (messages|length) // 2 }}'''
T['strings'] = '''{% for m in messages %}{% if m.content is string %}{{ m.content.split(' ')[0] }}|{{ 'Y' if m.content.startswith('Hi') else 'N' }}|{{ m.content.replace('a', 'A') }}|[{{ m.content.lstrip() }}]|[{{ m.content.rstrip() }}]|[{{ m.content.strip() }}]|{{ 'Q' if m.content.endswith('?') else '-' }}|{{ m.content.upper() }}|{{ m.content|length }}|{{ m.role|capitalize }}
{% endif %}{% endfor %}'''
T['parts'] = '''{% for message in messages %}{{ message['role'].upper() + ': ' }}{% if message['content'] is string %}{{ message['content'] }}{% else %}{% for item in message['content'] %}{% if item['type'] == 'image' %}{{ '<image>\\n' }}{% elif item['type'] == 'text' %}{{ item['text'] }}{% endif %}{% endfor %}{% endif %}{{ '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}'''
T['macro'] = "{% macro fmt(role, text) %}<{{ role }}>{{ text ~ '!' }}</{{ role }}>{% endmacro %}{% for m in messages %}{% if m.content is string %}{{ fmt(m.role, m.content) }}{{ ' ' if not loop.last else '' }}{% endif %}{% endfor %}"
T['loopctl'] = "{% for m in messages %}{% if m.role == 'assistant' %}{% continue %}{% endif %}{% if loop.index > 3 %}{% break %}{% endif %}{{ loop.index }}:{{ m.content }};{% endfor %}"
T['tojson'] = "{% for m in messages %}{{ m|tojson }}\n{% endfor %}{{ {'a': 1, 'b': [1, 2], 'c': 'é'}|tojson }}"
T['reasoning'] = """{%- for message in messages %}
    {%- if message.role == 'assistant' and message.content is string and '</think>' in message.content %}
        {%- set content = message.content.split('</think>')[-1].lstrip('\\n') %}
        {%- set reasoning = message.content.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') %}
        {{- '<|im_start|>assistant\\n<think>\\n' + reasoning.strip('\\n') + '\\n</think>\\n\\n' + content.lstrip('\\n') + '<|im_end|>\\n' }}
    {%- elif message.content is string %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content.strip() + '<|im_end|>\\n' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"""
T['joins'] = "{{ ', '.join(messages|map(attribute='role')) }}|{{ ' '.join(['a', 'b']) }}|{% for m in messages %}{% if m.content is string %}{{ m.content.split()|join('_') }}/{{ m.content.split(' ', 1)|length }}/{{ m.content.upper()[0:2] }}{% endif %};{% endfor %}"
T['dicts'] = "{% set d = {'b': 2, 'a': 1} %}{% for k, v in d.items() %}{{ k }}={{ v }},{% endfor %}|{{ d.keys()|list|length }}|{{ d.get('a') }}|{{ messages[0].get('role') }}"
T['bools'] = "{{ add_generation_prompt }} {{ messages|length > 1 }} {{ none }} {{ 3 / 2 }} {{ 7 // 2 }} {{ 2 ** 3 }}"
T['defined'] = "{% if tools is defined and tools is not none %}T{% else %}noT{% endif %}|{% if messages[0].name is defined %}N{% else %}noN{% endif %}|{{ messages[0].get('role') }}|{{ messages[0]['content'] if messages[0]['content'] is string else 'list' }}"

C = {
 'one': [{'role': 'user', 'content': 'Hi there'}],
 'sys': [{'role': 'system', 'content': 'Be brief.'}, {'role': 'user', 'content': 'What is 2+2?'}],
 'multi': [{'role': 'system', 'content': ' You help. '}, {'role': 'user', 'content': 'What is 2+2?'},
           {'role': 'assistant', 'content': '4'}, {'role': 'user', 'content': 'And 3+3?'}],
 'spaces': [{'role': 'user', 'content': '  padded  \n'}, {'role': 'assistant', 'content': '  ok  '}, {'role': 'user', 'content': 'bye'}],
 'quotes': [{'role': 'user', 'content': 'é "q" \'a\' \\n <b>&amp; {{ x }} {% y %} \u4e2d'}],
 'parts': [{'role': 'user', 'content': [{'type': 'image'}, {'type': 'text', 'text': 'What is it?'}]}],
 'bad': [{'role': 'user', 'content': 'a'}, {'role': 'user', 'content': 'b'}],
 'think': [{'role': 'user', 'content': 'Why?'}, {'role': 'assistant', 'content': '<think>\nbecause a.b\n\n</think>\n\nIt is.  '},
           {'role': 'user', 'content': ' Sure?\n'}],
}
T['generation'] = """{%- for message in messages %}
{%- if message.role == 'assistant' %}
{{- '<|im_start|>assistant\\n' }}{% generation %}{{- message.content + '<|im_end|>' }}{% endgeneration %}{{- '\\n' }}
{%- else %}
{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}
{%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"""
T['reversed'] = """{%- set ns = namespace(last_user=-1) %}
{%- for message in messages[::-1] %}
    {%- set index = (messages|length - 1) - loop.index0 %}
    {%- if ns.last_user == -1 and message.role == 'user' %}
        {%- set ns.last_user = index %}
    {%- endif %}
{%- endfor %}
{%- for message in messages %}
    {%- if message.content is string %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content + ('' if loop.index0 != ns.last_user else ' [last question]') + '<|im_end|>\\n' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"""
T['misc'] = "{% for m in messages[::-1] %}{{ m.role }},{% endfor %}|{{ range(3)|list }}|{{ messages|map(attribute='role')|unique|list }}|{{ 'x'|default('d') }}{{ undefined_var|default('d') }}|{{ '5'|int + 1 }}|{{ 3|string + 'a' }}|{{ messages|reverse|map(attribute='role')|first }}|{% for m in messages %}{{ loop.length }}{% endfor %}|{{ 'abc'[1:] }}|{{ messages[-2:]|length }}|{{ (messages|selectattr('role', 'equalto', 'assistant')|list|length) > 0 }}"
T['precedence'] = "{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}{% if not date_string is defined %}{% set date_string = 'D' %}{% endif %}{{ date_string }}|{% if not messages[0].content is not string %}S{% endif %}|{% if not messages[-1]['role'] is none and not loop_var is defined %}R{% endif %}|{% for m in messages %}{{ m.role }};{% endfor %}{% if add_generation_prompt %}GEN{% endif %}"
T['continuation'] = '{%- set greeting = "Hello,\\\nworld \\"quoted\\" it\'s" %}{{ greeting }}|{{ \'a\\\nb\' }}|{% for m in messages %}{{ m.role }};{% endfor %}'
T['chains'] = "{% macro txt(c) %}{{ c if c is string else 'parts' }}{% endmacro %}{% for m in messages %}[{{ (m['content'] | default('', true)).replace('a', 'A').replace(' ', '_').strip('_') if m['content'] is string else '' }}|{{ txt(m['content']).strip().upper() }}|{{ ('tool_calls' in m) }}]{% endfor %}{% set ms = messages[:-1] %}{{ ms|length }}"
# recursive macros (tool templates print JSON schemas so); Jinjava refused recursion by default and cut it short
T['recursion'] = """{%- macro parts(c, d) -%}
{%- if c is string -%}{{ c }}@{{ d }}
{%- else -%}[{%- for p in c -%}{{ parts(p.text if p.text is defined else p.type, d + 1) }}{{ ',' if not loop.last }}{%- endfor -%}]
{%- endif -%}
{%- endmacro -%}
{%- macro countdown(n) -%}{%- if n > 0 -%}{{ n }}{{ countdown(n - 1) }}{%- endif -%}{%- endmacro -%}
{%- for m in messages %}{{ m.role }}={{ parts(m.content, 0) }};{% endfor %}|{{ countdown(messages|length + 2) }}"""
# ranges beyond Jinjava's default limit of 1000 (jinja2's sandbox allows 100000)
T['ranges'] = "{{ range(1500)|list|length }}|{{ range(0, 3000, 2)|sum }}|{% for i in range(1200) %}{% if loop.last %}{{ i }}{% endif %}{% endfor %}|{{ messages|length }}"
# string repetition (Jinjava's * takes numbers only): literal times a count, a count times a literal, not **
T['repeat'] = "{{ '-' * 3 }}|{% for m in messages %}{{ '  ' * loop.index0 }}{{ m.role }};{% endfor %}|{{ 2 * 'ab' }}|{{ '=' * (messages|length) }}|{{ '.' * messages|length }}|{{ 'x' * 0 }}{{ 'y' * -2 }}|{{ 2 ** 3 }}|{{ 'q' * 2 ~ 'r' * 2 }}|{% set n = 2 %}{{ n * '<>' }}|{{ ('a' ~ 'b') * 2 if false else 'ab' * 2 }}"
# loop.previtem / loop.nextitem (Qwen tool templates: `if loop.previtem and loop.previtem.role != "tool"`), which
# Jinjava's loop object lacks: plain, after a filter, nested, reversed, and a loop with a condition (not rewritten)
T['neighbours'] = """{%- for m in messages %}[{{ loop.previtem.role if loop.previtem is defined else '-' }}>{{ m.role }}>{{ loop.nextitem['role'] if loop.nextitem is defined else '-' }}]{% if loop.previtem and loop.previtem.role == m.role %}(same){% endif %}{% endfor %}
|{% for m in messages|selectattr('role', 'equalto', 'user') %}{{ loop.previtem.content|length if loop.previtem is defined else 0 }},{% for c in ['a', 'b'] %}{{ loop.previtem if loop.previtem is defined else '^' }}{{ c }}{% endfor %};{{ loop.nextitem is defined }}{% endfor %}
|{% for m in messages[::-1] %}{{ loop.nextitem.role if loop.nextitem is defined }}/{% endfor %}"""
# lstrip_blocks strips only from the start of a line: the spaces before a mid-line block tag stay (Vicuna / LLaVA-1.5
# style "USER: {{ c }} {% elif %}"); Jinjava's own lstrip took them too
T['midline'] = """{% if messages[0]['role'] == 'system' %}{{ messages[0]['content'] | trim }} {% endif %}{% for message in messages %}{% if message['role'] == 'user' %}USER: {{ message['content'] if message['content'] is string else 'parts' }} {% elif message['role'] == 'assistant' %}ASSISTANT: {{ message['content'] }}</s>{% endif %}{% endfor %}{% if add_generation_prompt %}ASSISTANT:{% endif %}|a {% for x in [1, 2] %}b {% endfor %}c|
    {% if true %}indented tag{% endif %}|  {# comment #}x"""
# loop filters (for ... in ... if ...): loop.index / length / last count the kept items; else when none is kept;
# tuple targets; a conditional expression in parentheses is not a filter
T['loopfilter'] = """{% for m in messages if m.role != 'system' %}[{{ m.role }} {{ loop.index }}/{{ loop.length }}{{ '.' if loop.last }}]{% endfor %}|{% for m in messages if m.role == 'tool' %}x{% else %}none{% endfor %}|{% for k, v in {'a': 1, 'b': 2, 'c': 3}.items() if v > 1 %}{{ k }}{{ v }}{% endfor %}|{%- for m in messages if m.content is string -%}
 {{ loop.index0 }}
{%- endfor %}|{% for x in ([1, 2] if messages|length > 1 else [3]) %}{{ x }}{% endfor %}|{% for x in [] %}y{% else %}empty{% if true %}!{% else %}?{% endif %}{% endfor %}|{% for m in messages %}{% if m.role == 'user' %}u{% else %}o{% endif %}{% else %}never{% endfor %}"""
# iterating a dict walks its keys (Jinjava's default walked the values); membership, |list, |dictsort, items()
T['dictiter'] = """{% for k in {'b': 1, 'a': 2} %}{{ k }},{% endfor %}|{% for key in messages[0] %}{{ key }};{% endfor %}|{{ {'x': 1, 'y': 2}|list|join('+') }}|{{ 'role' in messages[0] }}|{% for k, v in messages[0]|dictsort %}{{ k }}{% endfor %}|{% for k, v in messages[-1].items() %}{{ k }}={{ v if v is string else 'parts' }};{% endfor %}|{{ messages[0]|length }}"""
TEXT_ONLY = {'llama3', 'qwen', 'mistral', 'gemma', 'phi3', 'reasoning', 'generation', 'reversed'}
T['bools'] = T['bools'].replace(' {{ none }}', '')
SPECIALS = {'bos_token': '<s>', 'eos_token': '</s>'}
cases = []
for tn, tpl in T.items():
    for cn, msgs in C.items():
        if cn == 'parts' and tn in TEXT_ONLY | {'loopctl'}:
            continue
        for gen in (True, False):
            case = dict(template=tn, conversation=cn, add_generation_prompt=gen)
            try:
                case['output'] = env.from_string(tpl).render(messages=msgs, add_generation_prompt=gen, **SPECIALS)
            except Exception as e:
                case['error'] = f'{type(e).__name__}: {e}'
            cases.append(case)
with open('chat_templates.json', 'w') as f:
    json.dump(dict(specials=SPECIALS, templates=T, conversations=C, cases=cases), f, indent=1, ensure_ascii=False)
print(len(cases), 'cases,', sum('error' in c for c in cases), 'expected errors')
