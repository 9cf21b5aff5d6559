"""What every console page builds on and that knows no app: the navigation and
object-tab registries, the context processor that renders them, the middleware
that turns domain errors into HTML pages, and service errors on forms."""
