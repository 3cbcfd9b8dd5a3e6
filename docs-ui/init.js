// Starts Swagger UI on this origin's document. A file, not an inline script, so that the page's CSP
// can keep script-src to 'self'.
window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  // BaseLayout has no top bar, so the page cannot be pointed at another origin's document.
  layout: 'BaseLayout',
  deepLinking: true,
  // Swagger UI would otherwise send the document to validator.swagger.io for a badge.
  validatorUrl: null,
  // The token stays in memory: nothing is written to localStorage.
  persistAuthorization: false,
})
