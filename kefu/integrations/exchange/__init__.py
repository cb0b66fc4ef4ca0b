"""The exchange back-office port: what support reads from and asks of the exchange.

`port.ExchangePort` is the contract; `demo.DemoExchange` (in-memory, the default) and `http.HttpExchange`
(signed REST, see docs/exchange-api.md) implement it; `factory.create_exchange` picks one from settings.
"""
