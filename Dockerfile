# The production image: the API and the projector, without the embedded servers.
FROM python:3.12-slim
WORKDIR /app
COPY pyproject.toml README.md LICENSE schema.graphql ./
COPY orders_gql ./orders_gql
RUN pip install --no-cache-dir '.[fast]'
USER nobody
EXPOSE 8000
CMD ["orders-gql", "serve", "--host", "0.0.0.0", "--port", "8000"]
