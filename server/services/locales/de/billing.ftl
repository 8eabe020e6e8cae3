# Tallys Abrechnungsdokumente und die E-Mails dazu, auf Deutsch.
# Dieselben Meldungen mit denselben Werten wie en/billing.ftl (ein Test prüft das).

## Das Rechnungsdokument (PDF)

invoice-title = Rechnung { $number }
invoice-title-corrected = Korrigierte Rechnung { $number }
doc-issued = Ausgestellt am { $date }
invoice-corrects = Korrigiert Rechnung { $original }, storniert durch eine Gutschrift
doc-from = Von
doc-billed-to = Rechnungsempfänger
doc-references = Referenzen
invoice-period = Abrechnungszeitraum: { $period }
invoice-peak = Höchste Nutzerzahl im Zeitraum: { $peak }
invoice-peak-reached = Höchste Nutzerzahl im Zeitraum: { $peak }, erstmals erreicht am { $day }
invoice-free = Kostenlose Nutzer: { $free }
invoice-price = Preis pro Nutzer: { $price }
invoice-billable = Berechnete Nutzer: { $billable } × { $price } = { $net }
invoice-net = Netto: { $net }
invoice-tax = { $label }: { $tax }
invoice-gross = Gesamtbetrag inkl. USt.: { $gross }
invoice-credit-applied = Verrechnetes Guthaben: −{ $credit }
invoice-total = Gesamtbetrag: { $total }
invoice-status = Status: { $status }
invoice-nothing-charged = Es wird nichts abgebucht.
invoice-charged-to = Abgebucht von: { $card }
invoice-charged-to-none = Abgebucht von: der hinterlegten Karte (bei Ausstellung war keine hinterlegt)
invoice-credited = Durch Gutschriften erstattet: { $credited }
doc-footer = Tally — Verwaltungs- und Abrechnungsportal

## Der Stand einer Rechnung

invoice-status-label = { $status ->
    [paid] Bezahlt
    [zero] Nichts fällig
    [failed] Zahlung fehlgeschlagen, neuer Versuch folgt
    [past_due] Überfällig
    [action_required] Bestätigung erforderlich
    [void] Storniert
    [corrected] Korrigiert
   *[open] Fällig
}
settled-corrected-by = Korrigiert durch Rechnung { $number }
settled-corrects = Korrigiert Rechnung { $number }
settled-voided = Storniert: { $reason }
settled-transfer = Per Überweisung bezahlt (Verwendungszweck { $reference })

## Umsatzsteuer

tax-standard = USt. { $rate }
tax-reverse-charge = USt. 0 % (Steuerschuldnerschaft des Leistungsempfängers)
tax-outside-scope = USt. 0 % (nicht im Anwendungsbereich der EU-Mehrwertsteuer)
tax-note-reverse-charge = Steuerschuldnerschaft des Leistungsempfängers: Der Kunde schuldet die Umsatzsteuer (Artikel 196, Richtlinie 2006/112/EG).
tax-note-outside-scope = Nicht im Anwendungsbereich der EU-Mehrwertsteuer.

## Eine Rechnung in wenigen Zeilen, in ihren E-Mails

summary-invoice = Rechnung: { $number }
summary-corrects = Korrigiert Rechnung { $original }, die durch eine Gutschrift storniert wird
summary-peak = Höchste Nutzerzahl: { $peak }, davon { $free } kostenlos
summary-users = { $billable } × { $price } = { $net }
summary-nothing-due = Es ist nichts fällig.
summary-charged-to = Abgebucht von { $card }.
summary-charged-on-file = Der Betrag wird von der hinterlegten Karte abgebucht.

## Das Gutschriftsdokument

credit-note-title = Gutschrift { $number }
credit-note-for = Zu Rechnung { $invoice }
credit-note-credited-to = Gutgeschrieben an
credit-note-reason = Grund: { $reason }
credit-note-credited = Gutgeschrieben: { $amount }
credit-note-split = Davon netto { $net } und { $label } { $tax }
credit-refund-pending = Die Erstattung auf die Karte ist in Bearbeitung.
credit-refunded = Auf die Karte erstattet.
credit-balance = Guthaben für die nächsten Rechnungen.
credit-refund-failed = Die Erstattung auf die Karte ist nicht gelungen ({ $why }); der Betrag bleibt als Guthaben für die nächsten Rechnungen stehen.

## E-Mails

mail-sign-off = — Tally
mail-invoice-subject = Ihre Tally-Rechnung { $number } für { $month }
mail-invoice-copy-subject = Kopie Ihrer Tally-Rechnung { $number }
mail-invoice-intro = Ihre Rechnung für den vergangenen Monat liegt als PDF bei. Kurz zusammengefasst:
mail-invoice-copy-intro = Hier ist die angeforderte Kopie Ihrer Rechnung. Sie liegt als PDF bei.
mail-invoice-outro = Abrechnungsadministratoren sehen sie auch in Tally. Bitte bewahren Sie diese E-Mail für Ihre Unterlagen auf.
mail-invoice-link = Rechnung in Tally ansehen
mail-credit-note-subject = Gutschrift { $number } zu Tally-Rechnung { $invoice }
mail-credit-note-intro = Für Rechnung { $invoice } wurde Ihnen eine Gutschrift ausgestellt. Sie liegt als PDF bei. Kurz zusammengefasst:
mail-credit-note-outro = Abrechnungsadministratoren sehen sie auch in Tally, neben den Rechnungen.
mail-credit-note-link = In Tally ansehen
mail-questions = Fragen beantwortet { $seller }: { $contact }.
mail-charged-subject = Tally-Rechnung { $number } ist bezahlt
mail-charged = Rechnung { $number } ({ $amount }) wurde von der hinterlegten Karte abgebucht und ist bezahlt.
mail-transfer-subject = Tally-Rechnung { $number } ist bezahlt
mail-transfer = Eine Überweisung von { $amount } für Rechnung { $number } (Verwendungszweck { $reference }) wurde verbucht: Die Rechnung ist bezahlt.
mail-voided-subject = Tally-Rechnung { $number } wurde storniert
mail-voided = Rechnung { $number } ({ $amount }) wurde storniert: Dafür ist nichts geschuldet, und sie wird nicht abgebucht. Angegebener Grund: { $reason }
mail-payment-failed-subject = Zahlung für Tally-Rechnung { $number } fehlgeschlagen
mail-payment-failed = Wir konnten { $amount } für Rechnung { $number } ({ $month }) nicht abbuchen, Versuch { $attempt }: { $reason } { $next } Um die Karte zu ändern, öffnen Sie in Tally die Seite „Payments“.
mail-retry-on = Wir versuchen es am { $day } erneut.
mail-last-try = Das war der letzte Versuch: Das Konto ist jetzt überfällig. Sobald in Tally eine neue Karte hinterlegt wird, wird die Rechnung erneut abgebucht.
mail-authentication-subject = Bestätigen Sie die Zahlung für Tally-Rechnung { $number }
mail-authentication = Die Bank der hinterlegten Karte bittet den Karteninhaber, die Zahlung von { $amount } für Rechnung { $number } ({ $month }) zu bestätigen. Bis dahin wird nichts abgebucht und kein neuer Versuch unternommen.
mail-authentication-action = Ein Abrechnungsadministrator kann sie in Tally bestätigen: { $link }
mail-card-expiring-subject = Ihre hinterlegte Karte läuft vor der nächsten Tally-Abbuchung ab
mail-card-expiring = Die hinterlegte Karte von { $company } ({ $card }) läuft Ende { $month } ab, vor der nächsten Abbuchung am { $day }. Damit die Zahlungen ohne Unterbrechung weiterlaufen, hinterlegen Sie eine neue Karte: auf der Seite „Payments“ in Tally oder unter { $url }
mail-spend-alert-subject = Tally-Ausgabenwarnung
mail-spend-alert-more = Die Nutzer und die Schätzung dieses Monats stehen auf der Seite „Billing“: { $url }

## Ausgabenwarnungen

alert-threshold = Die Schätzung dieses Monats, { $estimate }, hat { $percent } % Ihres Budgets von { $budget } erreicht.
alert-forecast = Beim bisherigen Tempo dieses Monats ({ $pace } Nutzer pro Tag) überschreitet die Schätzung Ihr Budget von { $budget } bis zum { $day }.
