"""Local stand-ins for what this machine cannot reach: the social platforms' HTTP APIs,
and a disk that fills up or stalls on demand (`lake_store`).

Each fake server reproduces its platform's documented wire format (status codes,
headers, chunked streaming, paging, error bodies) on 127.0.0.1, so the sources run
their official clients unchanged.
"""
