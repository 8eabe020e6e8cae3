# Les documents de facturation de Tally et les e-mails qui les accompagnent, en français.
# Les mêmes messages, avec les mêmes valeurs, que en/billing.ftl (un test le vérifie).

## Le document de la facture (PDF)

invoice-title = Facture { $number }
invoice-title-corrected = Facture rectificative { $number }
doc-issued = Émise le { $date }
invoice-corrects = Rectifie la facture { $original }, annulée par un avoir
doc-from = Émetteur
doc-billed-to = Facturé à
doc-references = Références
invoice-period = Période de facturation : { $period }
invoice-peak = Nombre maximal d'utilisateurs sur la période : { $peak }
invoice-peak-reached = Nombre maximal d'utilisateurs sur la période : { $peak }, atteint pour la première fois le { $day }
invoice-free = Utilisateurs gratuits : { $free }
invoice-price = Prix par utilisateur : { $price }
invoice-billable = Utilisateurs facturés : { $billable } × { $price } = { $net }
invoice-net = Montant HT : { $net }
invoice-tax = { $label } : { $tax }
invoice-gross = Total TTC : { $gross }
invoice-credit-applied = Solde créditeur imputé : −{ $credit }
invoice-total = Total : { $total }
invoice-status = Statut : { $status }
invoice-nothing-charged = Rien n'est prélevé.
invoice-charged-to = Prélevé sur : { $card }
invoice-charged-to-none = Prélevé sur : la carte enregistrée (aucune ne l'était à l'émission)
invoice-credited = Crédité par des avoirs : { $credited }
doc-footer = Tally — portail d'administration et de facturation

## L'état d'une facture

invoice-status-label = { $status ->
    [paid] Payée
    [zero] Rien à payer
    [failed] Paiement refusé, nouvelle tentative prévue
    [past_due] En retard
    [action_required] Authentification requise
    [void] Annulée
    [corrected] Rectifiée
   *[open] À payer
}
settled-corrected-by = Rectifiée par la facture { $number }
settled-corrects = Rectifie la facture { $number }
settled-voided = Annulée : { $reason }
settled-transfer = Payée par virement (référence { $reference })

## TVA

tax-standard = TVA { $rate }
tax-reverse-charge = TVA 0 % (autoliquidation)
tax-outside-scope = TVA 0 % (hors du champ de la TVA de l'UE)
tax-note-reverse-charge = Autoliquidation : la TVA est due par le preneur (article 196 de la directive 2006/112/CE).
tax-note-outside-scope = Hors du champ d'application de la TVA de l'UE.

## Une facture en quelques lignes, dans ses e-mails

summary-invoice = Facture : { $number }
summary-corrects = Rectifie la facture { $original }, qu'un avoir annule
summary-peak = Nombre maximal d'utilisateurs : { $peak }, dont { $free } gratuits
summary-users = { $billable } × { $price } = { $net }
summary-nothing-due = Rien n'est dû.
summary-charged-to = Prélevé sur { $card }.
summary-charged-on-file = Le montant est prélevé sur la carte enregistrée.

## Le document de l'avoir

credit-note-title = Avoir { $number }
credit-note-for = Pour la facture { $invoice }
credit-note-credited-to = Crédité à
credit-note-reason = Motif : { $reason }
credit-note-credited = Crédité : { $amount }
credit-note-split = Dont { $net } HT et { $label } { $tax }
credit-refund-pending = Remboursement sur la carte en cours.
credit-refunded = Remboursé sur la carte.
credit-balance = Solde créditeur pour les prochaines factures.
credit-refund-failed = Le remboursement sur la carte n'a pas abouti ({ $why }) ; le montant est donc conservé comme solde créditeur pour les prochaines factures.

## E-mails

mail-sign-off = — Tally
mail-invoice-subject = Votre facture Tally { $number } pour { $month }
mail-invoice-copy-subject = Copie de votre facture Tally { $number }
mail-invoice-intro = Votre facture du mois dernier est jointe en PDF. En bref :
mail-invoice-copy-intro = Voici la copie de votre facture que vous avez demandée. Elle est jointe en PDF.
mail-invoice-outro = Les administrateurs de facturation peuvent aussi la consulter dans Tally. Conservez cet e-mail pour vos archives.
mail-invoice-link = Voir la facture dans Tally
mail-credit-note-subject = Avoir { $number } pour la facture Tally { $invoice }
mail-credit-note-intro = Un avoir pour la facture { $invoice } a été émis à votre intention. Il est joint en PDF. En bref :
mail-credit-note-outro = Les administrateurs de facturation peuvent aussi le consulter dans Tally, à côté des factures.
mail-credit-note-link = Le voir dans Tally
mail-questions = Pour toute question, adressez-vous à { $seller } : { $contact }.
mail-charged-subject = La facture Tally { $number } est payée
mail-charged = La facture { $number } ({ $amount }) a été prélevée sur la carte enregistrée et est payée.
mail-transfer-subject = La facture Tally { $number } est payée
mail-transfer = Un virement de { $amount } pour la facture { $number } (référence { $reference }) a été enregistré : la facture est payée.
mail-voided-subject = La facture Tally { $number } a été annulée
mail-voided = La facture { $number } ({ $amount }) a été annulée : rien n'est dû à ce titre et elle ne sera pas prélevée. Motif indiqué : { $reason }
mail-payment-failed-subject = Échec du paiement de la facture Tally { $number }
mail-payment-failed = Nous n'avons pas pu prélever { $amount } pour la facture { $number } ({ $month }), tentative { $attempt } : { $reason } { $next } Pour changer de carte, ouvrez la page « Payments » dans Tally.
mail-retry-on = Nous réessaierons le { $day }.
mail-last-try = C'était la dernière tentative : le compte est désormais en retard de paiement. Enregistrer une nouvelle carte dans Tally relance le prélèvement de la facture.
mail-authentication-subject = Confirmez le paiement de la facture Tally { $number }
mail-authentication = La banque de la carte enregistrée demande au titulaire de confirmer le paiement de { $amount } pour la facture { $number } ({ $month }). Rien n'est prélevé avant cette confirmation, et aucune nouvelle tentative n'est faite entre-temps.
mail-authentication-action = Un administrateur de facturation peut le confirmer dans Tally : { $link }
mail-card-expiring-subject = Votre carte enregistrée expire avant le prochain prélèvement Tally
mail-card-expiring = La carte enregistrée de { $company } ({ $card }) expire fin { $month }, avant le prochain prélèvement du { $day }. Pour continuer à payer sans interruption, enregistrez une nouvelle carte sur la page « Payments » de Tally, ou ici : { $url }
mail-spend-alert-subject = Alerte de dépenses Tally
mail-spend-alert-more = Les utilisateurs et l'estimation de ce mois figurent sur la page « Billing » : { $url }

## Alertes de dépenses

alert-threshold = L'estimation de ce mois, { $estimate }, a atteint { $percent } % de votre budget de { $budget }.
alert-forecast = Au rythme de ce mois ({ $pace } utilisateurs par jour), l'estimation dépassera votre budget de { $budget } d'ici le { $day }.
