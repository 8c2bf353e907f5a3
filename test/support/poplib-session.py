"""One POP3 session with Python's poplib, driven by a JSON plan, for the Node server tests.

Usage: python3 poplib-session.py '<plan>'
The plan: {"host", "port", "security": "plain" | "stls" | "implicit", "cafile", "login": "user" | "apop",
"user", "password", "utf8": bool, "steps": [[name, *args], ...]}. Steps run in order after the login; each
appends one result to the JSON list printed on stdout:

  ["capa"]            CAPA before the login (the step list may start with it; it runs first)
  ["stat"]            [count, octets]
  ["list"]            ["1 883", ...]
  ["uidl"]            ["1 uid", ...]
  ["retr", n]         the message as base64, rebuilt from poplib's lines with CRLF line ends
  ["top", n, lines]   the same for TOP
  ["dele", n]         the server's reply
  ["quit"]            the server's reply to QUIT
  ["drop"]            closes the socket without QUIT (a lost connection)

poplib reads lines of at most 2048 octets (poplib._MAXLINE): the messages it downloads must respect that.
"""
import base64
import json
import poplib
import ssl
import sys


def text(reply):
    return reply.decode('utf-8', 'replace')


def message(response):
    # poplib hands back the lines without line ends and already dot-unstuffed.
    _status, lines, _octets = response
    return base64.b64encode(b''.join(line + b'\r\n' for line in lines)).decode('ascii')


def main():
    plan = json.loads(sys.argv[1])
    context = None
    if plan['security'] != 'plain':
        context = ssl.create_default_context(cafile=plan['cafile'])
    if plan['security'] == 'implicit':
        pop = poplib.POP3_SSL(plan['host'], plan['port'], context=context, timeout=20)
    else:
        pop = poplib.POP3(plan['host'], plan['port'], timeout=20)
    results = []
    steps = plan['steps']
    if steps and steps[0][0] == 'capa':
        results.append({k: v for k, v in pop.capa().items()})
        steps = steps[1:]
    if plan['security'] == 'stls':
        pop.stls(context=context)
    if plan.get('utf8'):
        results.append(text(pop.utf8()))
    if plan['login'] == 'apop':
        pop.apop(plan['user'], plan['password'])
    else:
        pop.user(plan['user'])
        pop.pass_(plan['password'])
    for step in steps:
        name, args = step[0], step[1:]
        if name == 'stat':
            results.append(list(pop.stat()))
        elif name == 'list':
            results.append([text(line) for line in pop.list()[1]])
        elif name == 'uidl':
            results.append([text(line) for line in pop.uidl()[1]])
        elif name == 'retr':
            results.append(message(pop.retr(args[0])))
        elif name == 'top':
            results.append(message(pop.top(args[0], args[1])))
        elif name == 'dele':
            results.append(text(pop.dele(args[0])))
        elif name == 'quit':
            results.append(text(pop.quit()))
        elif name == 'drop':
            pop.sock.close()
            results.append('dropped')
        else:
            raise ValueError(f'unknown step {name}')
    print(json.dumps(results))


if __name__ == '__main__':
    main()
