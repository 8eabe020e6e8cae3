# Tally's billing documents and the emails about them, in English.
# Every message here is in every other language's file too (a test checks), with the same
# values. Values arrive written in the reader's form: money, dates, periods.

## The invoice's document (its PDF)

invoice-title = Invoice { $number }
invoice-title-corrected = Corrected invoice { $number }
doc-issued = Issued { $date }
invoice-corrects = Corrects invoice { $original }, cancelled by a credit note
doc-from = From
doc-billed-to = Billed to
doc-references = References
invoice-period = Billing period: { $period }
invoice-peak = Peak users in the period: { $peak }
invoice-peak-reached = Peak users in the period: { $peak }, first reached on { $day }
invoice-free = Free users: { $free }
invoice-price = Price per user: { $price }
invoice-billable = Billable users: { $billable } × { $price } = { $net }
invoice-net = Net: { $net }
invoice-tax = { $label }: { $tax }
invoice-gross = Total with VAT: { $gross }
invoice-credit-applied = Credit balance applied: −{ $credit }
invoice-total = Total: { $total }
invoice-status = Status: { $status }
invoice-nothing-charged = Nothing is charged.
invoice-charged-to = Charged to: { $card }
invoice-charged-to-none = Charged to: the card on file (none was on file when issued)
invoice-credited = Credited by credit notes: { $credited }
doc-footer = Tally — admin and billing portal

## How an invoice stands

invoice-status-label = { $status ->
    [paid] Paid
    [zero] Nothing due
    [failed] Payment failed, retrying
    [past_due] Past due
    [action_required] Authentication needed
    [void] Void
    [corrected] Corrected
   *[open] Due
}
settled-corrected-by = Corrected by invoice { $number }
settled-corrects = Corrects invoice { $number }
settled-voided = Voided: { $reason }
settled-transfer = Paid by bank transfer (reference { $reference })

## VAT

tax-standard = VAT { $rate }
tax-reverse-charge = VAT 0 % (reverse charge)
tax-outside-scope = VAT 0 % (outside the scope of EU VAT)
tax-note-reverse-charge = Reverse charge: the customer accounts for the VAT (Article 196, Directive 2006/112/EC).
tax-note-outside-scope = Outside the scope of EU VAT.

## An invoice in a few lines, in its emails

summary-invoice = Invoice: { $number }
summary-corrects = Corrects invoice { $original }, which a credit note cancels
summary-peak = Peak users: { $peak }, of which { $free } free
summary-users = { $billable } × { $price } = { $net }
summary-nothing-due = Nothing is due.
summary-charged-to = Charged to { $card }.
summary-charged-on-file = It is charged to the card on file.

## The credit note's document

credit-note-title = Credit note { $number }
credit-note-for = For invoice { $invoice }
credit-note-credited-to = Credited to
credit-note-reason = Reason: { $reason }
credit-note-credited = Credited: { $amount }
credit-note-split = Of which net { $net } and { $label } { $tax }
credit-refund-pending = Refund to the card under way.
credit-refunded = Refunded to the card.
credit-balance = Credit balance for the next invoices.
credit-refund-failed = The refund to the card did not go through ({ $why }), so the amount is kept as a credit balance for the next invoices.

## Emails

mail-sign-off = — Tally
mail-invoice-subject = Your Tally invoice { $number } for { $month }
mail-invoice-copy-subject = Copy of your Tally invoice { $number }
mail-invoice-intro = Your invoice for last month is attached as a PDF. In short:
mail-invoice-copy-intro = Here is the copy of your invoice you asked for. It is attached as a PDF.
mail-invoice-outro = Billing administrators can also see it in Tally. Keep this email for your records.
mail-invoice-link = View the invoice in Tally
mail-credit-note-subject = Credit note { $number } for Tally invoice { $invoice }
mail-credit-note-intro = A credit note for invoice { $invoice } was issued to you. It is attached as a PDF. In short:
mail-credit-note-outro = Billing administrators can also see it in Tally, beside the invoices.
mail-credit-note-link = See it in Tally
mail-questions = Questions go to { $seller }: { $contact }.
mail-charged-subject = Tally invoice { $number } is paid
mail-charged = Invoice { $number } ({ $amount }) was charged to the card on file and is paid.
mail-transfer-subject = Tally invoice { $number } is paid
mail-transfer = A bank transfer of { $amount } for invoice { $number } (reference { $reference }) was recorded: the invoice is paid.
mail-voided-subject = Tally invoice { $number } was voided
mail-voided = Invoice { $number } ({ $amount }) was voided: nothing is owed for it, and it will not be charged. The reason given: { $reason }
mail-payment-failed-subject = Payment failed for Tally invoice { $number }
mail-payment-failed = We couldn't charge { $amount } for invoice { $number } ({ $month }), attempt { $attempt }: { $reason } { $next } To update the card, open Payments in Tally.
mail-retry-on = We'll try again on { $day }.
mail-last-try = That was the last try: the account is now past due. Saving a new card in Tally charges the invoice again.
mail-authentication-subject = Confirm the payment for Tally invoice { $number }
mail-authentication = The bank of the card on file asks the cardholder to confirm the payment of { $amount } for invoice { $number } ({ $month }). Nothing is charged until it is confirmed, and no retry is made meanwhile.
mail-authentication-action = A billing administrator can confirm it in Tally: { $link }
mail-card-expiring-subject = Your card on file expires before the next Tally charge
mail-card-expiring = The card on file for { $company } ({ $card }) expires at the end of { $month }, before the next charge on { $day }. To keep paying without interruption, save a new card: open Payments in Tally, or { $url }
mail-spend-alert-subject = Tally spend alert
mail-spend-alert-more = See this month's users and estimate on the Billing page: { $url }

## Spend alerts

alert-threshold = This month's estimate, { $estimate }, has reached { $percent } % of your { $budget }.
alert-forecast = At this month's pace ({ $pace } users a day), the estimate will pass your { $budget } by { $day }.
