"""Assets of viewer.html: the bundled gsplat.js (``gsplat.es.js``), the page template and its script."""
