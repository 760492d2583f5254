//! yandex_market: the connector against the simulator over real sockets.
