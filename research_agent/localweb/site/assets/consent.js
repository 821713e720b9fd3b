// Hides the cookie banner once a choice is made and remembers the choice for a year.
(function () {
  var banner = document.getElementById("cookie-consent");
  if (!banner) return;
  if (document.cookie.indexOf("consent=") !== -1) { banner.hidden = true; return; }
  function choose(value) {
    document.cookie = "consent=" + value + "; max-age=31536000; path=/; SameSite=Lax";
    banner.hidden = true;
  }
  banner.querySelector(".consent-accept").addEventListener("click", function () { choose("all"); });
  banner.querySelector(".consent-reject").addEventListener("click", function () { choose("essential"); });
})();
