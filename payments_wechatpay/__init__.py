"""WeChat Pay API v3 vendor plugin for ``payments`` (Native payments, RSA signatures).

Configure it with the ``WECHATPAY_*`` settings (docs/wechatpay.md). The signatures and the
notification resource encryption are pure functions in :mod:`payments_wechatpay.crypto`.
Nothing is imported here, so that the emulator can use ``crypto`` alone.
"""
