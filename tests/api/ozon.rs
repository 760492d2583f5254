//! ozon: the connector against the simulator over real sockets.
