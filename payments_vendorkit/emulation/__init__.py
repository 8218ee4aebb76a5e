"""The parts the vendors' local emulators share, so each plugin's emulator holds only its protocol.

``limits`` bounds what an emulator takes and keeps; ``notifier`` sends notifications and
resends them on a vendor's schedule; ``faults`` queues the failures a test asks for;
``web`` builds the app, its JSON errors and the unsigned faults; ``server`` runs an ASGI
app with uvicorn in a thread on 127.0.0.1. Unlike the rest of ``payments_vendorkit`` it
needs Starlette, uvicorn and requests, so only the emulators import it
(``payments_alipay.emulator``, ``payments_wechatpay.emulator``), and ``payments_vendorkit``
does not import it.
"""
