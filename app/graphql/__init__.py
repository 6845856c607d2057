"""The GraphQL read API (Strawberry): its context, relational types and loaders, document edges, limits, and the
router serving it at ``/ispyb/api/v1/graphql``. Every read goes through the same data access as REST."""
