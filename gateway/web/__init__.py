"""The admin web console: server-rendered pages (Starlette, the project's Jinja2
templates under templates/web/) over the same domain code as the e-mail commands and the
`appeals` command line. Built from the composition root's `App` by `console.build`."""
