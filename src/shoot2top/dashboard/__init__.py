"""`shoot2top dashboard`: a live web page over the warehouse, pushed from its commits.

`panels` computes what the page shows (live, trends, publisher, pipeline health) as
plain JSON tables; `app` serves the page and pushes a new snapshot over server-sent
events whenever the warehouse loader commits (PostgreSQL LISTEN/NOTIFY, `listen`);
`nimbus` reads a Storm topology's figures from Nimbus. Needs the ``analyst`` extra.
"""
