"""What the vendor plugins share and the core must not hold: RSA key loading in the forms
vendor consoles hand out (``keys``), and how long a call to a vendor may take (``timeouts``).

It imports only the standard library and ``cryptography``; no plugin imports another, so
whatever two of them need lives here. The subpackage ``emulation`` holds what their
local emulators share; it needs Starlette and uvicorn, and is imported only by them.
"""
