// Confirms the PaymentIntent with Stripe.js's card element, then shows Tessera's result page.
(function () {
  var form = document.getElementById("payment-form");
  var stripe = Stripe(form.dataset.key);
  var card = stripe.elements().create("card");
  card.mount("#card-element");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    document.getElementById("pay-button").disabled = true;
    stripe.confirmCardPayment(form.dataset.secret, { payment_method: { card: card } }).then(function (result) {
      if (result.error) {
        var box = document.getElementById("card-errors");
        box.textContent = result.error.message || "Error";
        box.hidden = false;
      }
      window.location.assign(form.dataset.result);
    });
  });
})();
