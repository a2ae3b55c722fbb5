"""The ASGI application: Django's handler, with each request's synchronous code (the
middleware, the views, the database) run in one hop on a thread kept from one request to
the next.

Django starts a thread for every request (``ThreadSensitiveContext``) and joins it when
the request ends, before the server's loop goes on: 0.5 to 1.8 ms per request measured on
this machine, and the next request on the same connection waits for it. A thread that is
free is handed to the next request instead (asgiref's ``ThreadSensitiveContext(executor=)``:
one thread per request at a time, as before). As many threads are kept as requests have
run at once, up to ``KEPT_THREADS``.

The middleware chain is synchronous, as under WSGI, and runs in one call on that thread;
Django's chain for ASGI is asynchronous, so around this project's synchronous middleware
and views it went from the loop to the thread, back, and out again (0.3-0.5 ms a request).
The live streams' async views still stream from the loop: Django runs such a view to get its
response, and the handler sends its asynchronous body.
"""

import os
from concurrent.futures import ThreadPoolExecutor

import django
from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core.handlers.asgi import ASGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "learning_site.settings")

KEPT_THREADS = 64


class ThreadKeepingASGIHandler(ASGIHandler):
    def __init__(self):
        super().__init__()
        self._free: list[ThreadPoolExecutor] = []

    def load_middleware(self, is_async=False):
        """A synchronous chain, as under WSGI (the middleware and views here are
        synchronous but for the live streams), run on the request's thread in one hop:
        Django's asynchronous chain went back to the loop and out to the thread again
        around the views."""
        super().load_middleware(is_async=False)

    async def get_response_async(self, request):
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        thread = self._free.pop() if self._free else ThreadPoolExecutor(1, "request")
        try:
            # Returns once the request's work on the thread is done, even when the client
            # leaves mid-view (asgiref waits for a cancelled call to finish).
            async with ThreadSensitiveContext(executor=thread):
                await self.handle(scope, receive, send)
        finally:
            if len(self._free) < KEPT_THREADS:
                self._free.append(thread)
            else:
                thread.shutdown(wait=False)


django.setup(set_prefix=False)
application = ThreadKeepingASGIHandler()
