// Filters the cards as you type: every word must appear in the card's id, distribution or spaces.
"use strict";
(function () {
  var search = document.getElementById("search");
  var distribution = document.getElementById("distribution");
  var shown = document.getElementById("shown");
  var nothing = document.getElementById("nothing");
  var cards = Array.prototype.slice.call(document.querySelectorAll(".card"));
  var texts = cards.map(function (card) { return card.getAttribute("data-search") || ""; });

  function apply() {
    var words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    var wanted = distribution.value;
    var count = 0;
    cards.forEach(function (card, i) {
      var match = (!wanted || card.getAttribute("data-distribution") === wanted) &&
        words.every(function (word) { return texts[i].indexOf(word) !== -1; });
      card.hidden = !match;
      if (match) { count += 1; }
    });
    shown.textContent = count === cards.length ? "" : count + " of " + cards.length + " shown";
    nothing.hidden = count !== 0;
  }

  search.addEventListener("input", apply);
  distribution.addEventListener("change", apply);
  document.addEventListener("keydown", function (event) {
    if (event.key === "/" && document.activeElement !== search) {
      event.preventDefault();
      search.focus();
    } else if (event.key === "Escape" && document.activeElement === search) {
      search.value = "";
      apply();
    }
  });
  apply();  // a reload keeps what was typed
}());
