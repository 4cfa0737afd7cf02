// MyBlog: refresh the post list from the API and handle the subscribe form.
// Everything works without JavaScript except the form, which then explains itself.
(function () {
  "use strict";

  var dateFormat = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "long", day: "numeric" });
  // The page's language folder (/en/, /fr/): post links stay in the language being read.
  var language = document.documentElement.lang || "en";

  function formatDate(iso) {
    var date = new Date(iso);
    return isNaN(date) ? "" : dateFormat.format(date);
  }

  function postItem(post) {
    var item = document.createElement("li");
    var heading = document.createElement("h2");
    var link = document.createElement("a");
    link.href = "/" + language + "/posts/" + encodeURIComponent(post.slug) + "/";
    link.textContent = post.title;
    heading.appendChild(link);

    var meta = document.createElement("p");
    meta.className = "meta";
    var time = document.createElement("time");
    time.dateTime = post.publishedAt;
    time.textContent = formatDate(post.publishedAt);
    meta.appendChild(time);

    var summary = document.createElement("p");
    summary.textContent = post.summary || "";

    item.append(heading, meta, summary);
    return item;
  }

  function loadPosts(list) {
    fetch("/api/posts?limit=10", { headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (page) {
        if (!page.posts || page.posts.length === 0) return; // keep the static list
        list.replaceChildren.apply(list, page.posts.map(postItem));
      })
      .catch(function () {
        // The static list rendered with the page is still there; nothing to do.
      });
  }

  function setStatus(element, message, isError) {
    element.textContent = message;
    element.classList.toggle("error", Boolean(isError));
  }

  function wireSubscribeForm(form) {
    var status = form.parentElement.querySelector(".form-status");
    var button = form.querySelector("button");
    form.querySelector("fieldset").disabled = false; // disabled until this script runs

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var email = form.elements.namedItem("email").value.trim();
      var name = form.elements.namedItem("name").value.trim();
      var payload = { email: email };
      if (name) payload.name = name; // the API refuses an empty name

      button.disabled = true;
      setStatus(status, "Subscribing\u2026", false);
      fetch("/api/subscribe", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(payload),
      })
        .then(function (response) {
          return response.json().catch(function () { return {}; }).then(function (body) {
            if (response.status === 429) throw new Error("Too many requests. Please try again in a minute.");
            if (!response.ok) throw new Error(body.message || "Something went wrong. Please try again.");
            return body;
          });
        })
        .then(function (body) {
          form.reset();
          setStatus(status, body.message || "Thanks for subscribing!", false);
        })
        .catch(function (error) {
          setStatus(status, error.message, true);
        })
        .finally(function () {
          button.disabled = false;
        });
    });
  }

  // A reader who picks a language keeps it: the edge reads the `lang` cookie before Accept-Language.
  function rememberLanguage(link) {
    link.addEventListener("click", function () {
      document.cookie = "lang=" + link.getAttribute("data-lang") + "; path=/; max-age=31536000; samesite=lax; secure";
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("a[data-lang]").forEach(rememberLanguage);
    var list = document.querySelector("[data-post-list]");
    if (list) loadPosts(list);
    document.querySelectorAll("form[data-subscribe]").forEach(wireSubscribeForm);
  });
})();
