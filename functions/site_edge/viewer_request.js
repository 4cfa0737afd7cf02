// StaticSite's viewer-request CloudFront Function (runtime cloudfront-js-2.0), rendered per site by
// components/static_site.py (`viewer_request_code`), which replaces the SITE_CONFIG marker below with JSON:
//   canonicalHost    the host every other name of the site redirects to (301); "" for none
//   redirectHosts    hosts that redirect to canonicalHost (e.g. the www name when the apex is canonical)
//   languages        the site's languages (lowercase primary subtags, e.g. ["en", "fr"]); [] for none
//   defaultLanguage  served when neither the `lang` cookie nor Accept-Language names one of them
//   indexDocument    appended to directory URLs (S3 has no index documents behind OAC)
// It runs before the cache lookup, so the cache key holds the rewritten URI (/fr/posts/x/index.html):
// only the chosen language, never the raw cookie or header.
var CONFIG = __SITE_CONFIG__;
var LANGUAGE_COOKIE = 'lang';
var MAX_LANGUAGE_RANGES = 16; // a longer Accept-Language is cut: bounded work per request

function handler(event) {
  var request = event.request;
  var redirect = canonicalRedirect(request);
  if (redirect) {
    return redirect;
  }
  if (CONFIG.languages.length > 0 && isPage(request.uri)) {
    request.uri = withLanguage(request.uri, request);
  }
  if (request.uri.endsWith('/')) {
    request.uri += CONFIG.indexDocument;
  }
  return request;
}

function canonicalRedirect(request) {
  var host = request.headers.host ? request.headers.host.value.toLowerCase() : '';
  if (!CONFIG.canonicalHost || CONFIG.redirectHosts.indexOf(host) === -1) {
    return null;
  }
  return {
    statusCode: 301,
    statusDescription: 'Moved Permanently',
    headers: {location: {value: 'https://' + CONFIG.canonicalHost + request.uri + queryString(request.querystring)}}
  };
}

function queryString(querystring) {
  var parts = [];
  for (var name in querystring) {
    var entry = querystring[name];
    var values = entry.multiValue ? entry.multiValue : [entry];
    for (var i = 0; i < values.length; i++) {
      parts.push(values[i].value === '' ? name : name + '=' + values[i].value);
    }
  }
  return parts.length > 0 ? '?' + parts.join('&') : '';
}

// A page: a directory URL, an .html file, or a name without an extension. Other files (robots.txt,
// feed.xml) are the same in every language and keep their path.
function isPage(uri) {
  var name = uri.substring(uri.lastIndexOf('/') + 1);
  return name.indexOf('.') === -1 || name.endsWith('.html');
}

function withLanguage(uri, request) {
  var first = uri.split('/')[1];
  if (supported(first)) {
    return uri === '/' + first ? uri + '/' : uri; // already chosen by the path
  }
  return '/' + chosenLanguage(request) + uri;
}

function chosenLanguage(request) {
  var cookie = request.cookies ? request.cookies[LANGUAGE_COOKIE] : undefined;
  var fromCookie = cookie ? normalised(cookie.value) : '';
  if (supported(fromCookie)) {
    return fromCookie;
  }
  var header = request.headers['accept-language'];
  return (header && preferred(header.value)) || CONFIG.defaultLanguage;
}

// The supported language with the highest q-value (the first one on a tie); q=0 means "not this one".
function preferred(acceptLanguage) {
  var best = '';
  var bestQuality = 0;
  var ranges = acceptLanguage.split(',').slice(0, MAX_LANGUAGE_RANGES);
  for (var i = 0; i < ranges.length; i++) {
    var params = ranges[i].split(';');
    var language = normalised(params[0]);
    var quality = 1;
    for (var j = 1; j < params.length; j++) {
      var param = params[j].trim().toLowerCase();
      if (param.indexOf('q=') === 0) {
        quality = /^(0(\.[0-9]{0,3})?|1(\.0{0,3})?)$/.test(param.substring(2)) ? parseFloat(param.substring(2)) : 0;
      }
    }
    if (supported(language) && quality > bestQuality) {
      best = language;
      bestQuality = quality;
    }
  }
  return best;
}

// "fr-CA", " FR", "fr_ca" -> "fr": the primary subtag, lowercase.
function normalised(tag) {
  return tag.trim().toLowerCase().split(/[-_]/)[0];
}

function supported(language) {
  return CONFIG.languages.indexOf(language) !== -1;
}
