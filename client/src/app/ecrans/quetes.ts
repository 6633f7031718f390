// The quest log: what can be taken, what is under way with its progress, what is done.
import { Component, OnInit, computed, inject } from '@angular/core';
import { CATALOGUE, DefQuete, objectifTexte, recompenseTexte } from '../donnees/catalogue';
import { JeuService, LigneQuete } from '../noyau/jeu.service';

interface Ligne { code: string; def: DefQuete; etat?: LigneQuete; bloquee: string | null; }

@Component({
  selector: 'app-quetes',
  template: `
  <div class="quetes">
    <section class="carte">
      <h2>Quêtes en cours</h2>
      <div class="liste-quetes" data-testid="quetes-en-cours">
        @for (q of enCours(); track q.code) {
          <article class="quete en-cours" [attr.data-quete]="q.code" [attr.data-progression]="q.etat?.progression">
            <header><h3>{{ q.def.nom }}</h3><span class="recompense">{{ recompense(q.def) }}</span></header>
            <p>{{ q.def.description }}</p>
            <div class="objectif">{{ objectif(q.def) }}</div>
            <div class="barre progression"><div [style.width.%]="100 * (q.etat?.progression ?? 0) / (q.etat?.requis || 1)"></div><span>{{ q.etat?.progression }} / {{ q.etat?.requis }}</span></div>
            <button class="bouton petit discret" (click)="jeu.abandonnerQuete(q.code)">Abandonner</button>
          </article>
        } @empty { <p class="vide">Aucune quête en cours : choisissez-en une ci-dessous.</p> }
      </div>
    </section>
    <section class="carte">
      <h2>Quêtes disponibles</h2>
      <div class="liste-quetes" data-testid="quetes-disponibles">
        @for (q of disponibles(); track q.code) {
          <article class="quete" [class.bloquee]="q.bloquee" [attr.data-quete]="q.code">
            <header><h3>{{ q.def.nom }}</h3><span class="recompense">{{ recompense(q.def) }}</span></header>
            <p>{{ q.def.description }}</p>
            <div class="objectif">{{ objectif(q.def) }} · niveau {{ q.def.niveau_min }}</div>
            @if (q.bloquee) { <p class="petit-texte verrou">{{ q.bloquee }}</p> }
            <button class="bouton petit principal" (click)="jeu.accepterQuete(q.code)" [attr.data-testid]="'accepter-' + q.code">Accepter</button>
          </article>
        }
      </div>
    </section>
    <section class="carte">
      <h2>Quêtes accomplies</h2>
      <div class="liste-quetes" data-testid="quetes-terminees">
        @for (q of terminees(); track q.code) {
          <article class="quete terminee" [attr.data-quete]="q.code">
            <header><h3>{{ q.def.nom }}</h3><span class="recompense">{{ recompense(q.def) }}</span></header>
            <div class="objectif">{{ objectif(q.def) }} — accomplie</div>
          </article>
        } @empty { <p class="vide">Aucune pour l’instant.</p> }
      </div>
    </section>
  </div>`,
})
export class EcranQuetes implements OnInit {
  readonly jeu = inject(JeuService);

  private readonly lignes = computed<Ligne[]>(() => {
    const j = this.jeu.journal();
    const niveau = this.jeu.personnage()?.niveau ?? 1;
    return Object.entries(CATALOGUE.quetes).map(([code, def]) => {
      const manque = (def.prerequis ?? []).filter((p) => j[p]?.statut !== 'terminee');
      const bloquee = def.niveau_min > niveau ? `Niveau ${def.niveau_min} requis.`
        : manque.length ? `Terminez d’abord : ${manque.map((m) => CATALOGUE.quetes[m]?.nom ?? m).join(', ')}.` : null;
      return { code, def, etat: j[code], bloquee };
    });
  });
  readonly enCours = computed(() => this.lignes().filter((l) => l.etat?.statut === 'en_cours'));
  readonly terminees = computed(() => this.lignes().filter((l) => l.etat?.statut === 'terminee'));
  readonly disponibles = computed(() => this.lignes().filter((l) => !l.etat || l.etat.statut === 'abandonnee')
    .sort((a, b) => Number(!!a.bloquee) - Number(!!b.bloquee) || a.def.niveau_min - b.def.niveau_min));

  ngOnInit(): void { this.jeu.rafraichirJournal().catch((e) => this.jeu.erreur(e)); }
  objectif(d: DefQuete) { return objectifTexte(d); }
  recompense(d: DefQuete) { return recompenseTexte(d.recompense); }
}
