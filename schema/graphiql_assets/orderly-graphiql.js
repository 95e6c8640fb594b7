// Starts GraphiQL on /graphql. The session cookies travel with every request (same origin);
// nothing is loaded from anywhere but this server.
(function () {
  "use strict";
  var fetcher = GraphiQL.createFetcher({ url: window.location.origin + "/graphql" });
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultEditorToolsVisibility: true,
      isHeadersEditorEnabled: false,
      shouldPersistHeaders: false,
    }),
  );
})();
