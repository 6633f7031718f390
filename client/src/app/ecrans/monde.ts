// The zone on a canvas: the ground, the portals, every character present, moving live.
// Move with the arrow keys (or ZQSD/WASD), or click where to go.
import { AfterViewInit, Component, ElementRef, HostListener, OnDestroy, OnInit, computed, effect, inject, signal, viewChild } from '@angular/core';
import { Router } from '@angular/router';
import { CATALOGUE, Classe, nomZone } from '../donnees/catalogue';
import { JeuService } from '../noyau/jeu.service';
import { RpcService } from '../noyau/rpc.service';

const TAILLE = 640;
const COULEURS: Record<Classe, string> = { Tank: '#4f8cff', DPS: '#ff5d5d', Heal: '#57d98a' };
const SOLS: Record<string, [string, string, string]> = {
  plaine_verte: ['#27492a', '#2f5a31', '#3d6f3a'],
  foret_sombre: ['#132a1c', '#18331f', '#0e2216'],
  montagnes_grises: ['#3a3f47', '#474d57', '#2d3138'],
  crypte_oubliee: ['#1d1626', '#261d33', '#15101c'],
};

@Component({
  selector: 'app-monde',
  template: `
  <div class="monde">
    <div class="carte-zone carte">
      <div class="titre-zone">
        <h2 data-testid="zone" [attr.data-zone]="jeu.zone()?.code">{{ nomZone() }}</h2>
        <span class="coord" data-testid="position" [attr.data-x]="jeu.position().x" [attr.data-y]="jeu.position().y">x {{ jeu.position().x.toFixed(1) }} · y {{ jeu.position().y.toFixed(1) }}</span>
      </div>
      <canvas #toile [width]="taille" [height]="taille" (click)="cliquer($event)" data-testid="canvas" tabindex="0" role="img" [attr.aria-label]="'Carte : ' + nomZone() + ', ' + jeu.presents().length + ' autre(s) joueur(s) présent(s)'"></canvas>
      <p class="aide">Flèches ou ZQSD pour marcher, clic pour aller quelque part.</p>
      @if (jeu.portailProche(); as pt) {
        <div class="portail-proche">
          Un portail vers <b>{{ zoneDe(pt.vers) }}</b> (niveau {{ pt.niveau_min }} requis).
          <button class="bouton principal" (click)="jeu.passerPortail(pt.vers)" data-testid="passer-portail">Passer le portail</button>
        </div>
      }
    </div>
    <div class="cote-monde">
      <section class="carte">
        <h3>Joueurs présents <span class="compteur">{{ jeu.presents().length }}</span></h3>
        <ul class="presents" data-testid="presents">
          @for (p of jeu.presents(); track p.joueur_id) {
            <li [attr.data-joueur]="p.joueur_id" [attr.data-nom]="p.nom" [attr.data-x]="p.x" [attr.data-y]="p.y">
              <span class="point-classe" [style.background]="couleur(p.classe)"></span>
              <b>{{ p.nom }}</b> <span class="petit-texte">{{ p.classe ?? '' }} · {{ distance(p).toFixed(0) }} m</span>
              <span class="actions-present">
                <button class="bouton petit" (click)="chuchoter(p.joueur_id)">Parler</button>
                <button class="bouton petit" (click)="echanger(p.joueur_id)" data-testid="echanger">Échanger</button>
              </span>
            </li>
          } @empty { <li class="vide">Personne d’autre ici pour l’instant.</li> }
        </ul>
      </section>
      <section class="carte">
        <h3>Dangers de la zone</h3>
        <ul class="rencontres">
          @for (r of rencontres(); track r.code) {
            <li>
              <div><b>{{ r.nom }}</b> &middot; <span class="petit-texte">niv. {{ r.niveau }}</span><br><span class="petit-texte">{{ r.monstres }}</span></div>
              <button class="bouton petit danger" (click)="combattre(r.code)" [disabled]="!!jeu.personnage()?.combat_id" [attr.data-testid]="'combattre-' + r.code">Combattre</button>
            </li>
          }
        </ul>
      </section>
      <section class="carte">
        <h3>Classement</h3>
        <ol class="classement" data-testid="classement">
          @for (c of classement(); track c.joueur_id) {
            <li [class.moi]="c.joueur_id === jeu.personnage()?.joueur_id">
              <span class="rang">{{ c.rang }}</span>
              <span class="point-classe" [style.background]="couleur(c.classe)"></span>
              <b>{{ c.nom }}</b>
              <span class="petit-texte">niv. {{ c.niveau }} · {{ c.xp }} XP</span>
            </li>
          }
        </ol>
      </section>
      <section class="carte">
        <h3>Portails</h3>
        <ul class="portails">
          @for (pt of jeu.zone()?.def?.portails ?? []; track pt.vers) {
            <li><span>vers <b>{{ zoneDe(pt.vers) }}</b> · niv. {{ pt.niveau_min }}</span>
              <button class="bouton petit" (click)="jeu.allerVers(pt.position.x, pt.position.y)" [attr.data-testid]="'aller-' + pt.vers">Y aller</button></li>
          }
        </ul>
      </section>
    </div>
  </div>`,
})
export class EcranMonde implements OnInit, AfterViewInit, OnDestroy {
  readonly jeu = inject(JeuService);
  private readonly router = inject(Router);
  private readonly toile = viewChild.required<ElementRef<HTMLCanvasElement>>('toile');
  private readonly rpc = inject(RpcService);
  readonly taille = TAILLE;
  readonly classement = signal<{ rang: number; joueur_id: string; nom: string; classe: Classe; niveau: number; xp: number }[]>([]);
  private anim = 0;
  private minuteurClassement?: ReturnType<typeof setInterval>;
  private affiches = new Map<string, { x: number; y: number }>();
  private decor: { x: number; y: number; r: number; genre: number }[] = [];
  private decorZone = '';

  readonly nomZone = computed(() => nomZone(this.jeu.zone()?.code ?? ''));
  readonly rencontres = computed(() => {
    const z = this.jeu.zone()?.code;
    return Object.entries(CATALOGUE.rencontres)
      .filter(([, r]) => r.zone === z)
      .map(([code, r]) => ({ code, nom: r.nom, niveau: r.niveau, monstres: r.monstres.map((m) => CATALOGUE.monstres[m]?.nom ?? m).join(', ') }));
  });

  zoneDe(code: string) { return nomZone(code); }
  couleur(c?: Classe) { return c ? COULEURS[c] : '#ccc'; }
  distance(p: { x: number; y: number }) { const m = this.jeu.position(); return Math.hypot(p.x - m.x, p.y - m.y); }

  constructor() {
    // Someone arrives, or someone (maybe us) gains XP: the ranking is read again.
    effect(() => {
      this.jeu.presents().length;
      this.jeu.personnage()?.xp;
      this.lireClassement();
    });
  }

  ngOnInit(): void {
    this.minuteurClassement = setInterval(() => this.lireClassement(), 15_000);
  }

  private lireClassement(): void {
    this.rpc.appel<any>('classement.consulter', { limite: 6 })
      .then((r) => this.classement.set(r.classement)).catch(() => {});
  }

  ngAfterViewInit(): void {
    const boucle = () => { this.dessiner(); this.anim = requestAnimationFrame(boucle); };
    this.anim = requestAnimationFrame(boucle);
  }

  ngOnDestroy(): void {
    cancelAnimationFrame(this.anim);
    clearInterval(this.minuteurClassement);
    for (const k of ['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown', 'z', 'q', 's', 'd', 'w', 'a']) this.jeu.toucheRelachee(k);
  }

  @HostListener('window:keydown', ['$event'])
  bas(e: KeyboardEvent): void {
    if (saisieActive(e)) return;
    const k = e.key.length === 1 ? e.key.toLowerCase() : e.key;
    if (['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown', 'z', 'q', 's', 'd', 'w', 'a'].includes(k)) {
      e.preventDefault();
      this.jeu.toucheEnfoncee(k);
    }
  }

  @HostListener('window:keyup', ['$event'])
  haut(e: KeyboardEvent): void {
    const k = e.key.length === 1 ? e.key.toLowerCase() : e.key;
    this.jeu.toucheRelachee(k);
  }

  cliquer(e: MouseEvent): void {
    const z = this.jeu.zone();
    if (!z) return;
    const c = this.toile().nativeElement;
    const r = c.getBoundingClientRect();
    const x = ((e.clientX - r.left) / r.width) * z.def.largeur;
    const y = ((e.clientY - r.top) / r.height) * z.def.hauteur;
    this.jeu.allerVers(Math.round(x * 10) / 10, Math.round(y * 10) / 10);
  }

  chuchoter(id: string): void { this.jeu.chargerCanal({ type: 'prive', destinataire: id }).catch((e) => this.jeu.erreur(e)); }
  echanger(id: string): void { this.router.navigate(['/jeu/inventaire'], { queryParams: { avec: id } }); }

  async combattre(code: string): Promise<void> {
    await this.jeu.preparerCombat(code);
    if (this.jeu.combat()) await this.router.navigateByUrl('/jeu/combat');
  }

  private dessiner(): void {
    const z = this.jeu.zone();
    const ctx = this.toile().nativeElement.getContext('2d');
    if (!ctx || !z) return;
    const ech = TAILLE / Math.max(z.def.largeur, z.def.hauteur);
    const [sol, sol2, sol3] = SOLS[z.code] ?? SOLS['plaine_verte'];
    const g = ctx.createRadialGradient(TAILLE / 2, TAILLE / 2, 60, TAILLE / 2, TAILLE / 2, TAILLE * 0.75);
    g.addColorStop(0, sol2);
    g.addColorStop(1, sol);
    ctx.fillStyle = g;
    ctx.fillRect(0, 0, TAILLE, TAILLE);
    // Grid every 10 m
    ctx.strokeStyle = 'rgba(255,255,255,0.04)';
    ctx.lineWidth = 1;
    for (let m = 0; m <= Math.max(z.def.largeur, z.def.hauteur); m += 10) {
      ctx.beginPath(); ctx.moveTo(m * ech, 0); ctx.lineTo(m * ech, TAILLE); ctx.stroke();
      ctx.beginPath(); ctx.moveTo(0, m * ech); ctx.lineTo(TAILLE, m * ech); ctx.stroke();
    }
    this.dessinerDecor(ctx, z.code, sol3);
    // Portals
    const t = performance.now() / 1000;
    for (const pt of z.def.portails) {
      const x = pt.position.x * ech, y = pt.position.y * ech;
      const halo = ctx.createRadialGradient(x, y, 2, x, y, 5 * ech + 6);
      halo.addColorStop(0, 'rgba(190,140,255,0.9)');
      halo.addColorStop(1, 'rgba(120,60,220,0)');
      ctx.fillStyle = halo;
      ctx.beginPath(); ctx.arc(x, y, 5 * ech + 6, 0, Math.PI * 2); ctx.fill();
      ctx.strokeStyle = `rgba(220,190,255,${0.6 + 0.3 * Math.sin(t * 3)})`;
      ctx.lineWidth = 2;
      ctx.beginPath(); ctx.arc(x, y, 8 + 2 * Math.sin(t * 3), 0, Math.PI * 2); ctx.stroke();
      this.etiquette(ctx, `${nomZone(pt.vers)} · niv. ${pt.niveau_min}`, x, y + 26, '#e4d4ff');
    }
    // Target
    const c = this.jeu.cible();
    if (c) {
      ctx.strokeStyle = 'rgba(255,220,120,0.8)';
      ctx.lineWidth = 2;
      ctx.beginPath(); ctx.arc(c.x * ech, c.y * ech, 6 + 2 * Math.sin(t * 6), 0, Math.PI * 2); ctx.stroke();
    }
    // Other characters, smoothed toward their last known position
    const vus = new Set<string>();
    for (const p of this.jeu.presents()) {
      vus.add(p.joueur_id);
      const a = this.affiches.get(p.joueur_id) ?? { x: p.x, y: p.y };
      a.x += (p.x - a.x) * 0.25;
      a.y += (p.y - a.y) * 0.25;
      this.affiches.set(p.joueur_id, a);
      this.pion(ctx, a.x * ech, a.y * ech, p.classe ? COULEURS[p.classe] : '#bbb', p.nom, false);
    }
    for (const k of [...this.affiches.keys()]) if (!vus.has(k)) this.affiches.delete(k);
    const moi = this.jeu.personnage();
    const pos = this.jeu.position();
    if (moi) this.pion(ctx, pos.x * ech, pos.y * ech, COULEURS[moi.classe], moi.nom, true);
  }

  private dessinerDecor(ctx: CanvasRenderingContext2D, zone: string, couleur: string): void {
    if (this.decorZone !== zone) {
      this.decorZone = zone;
      let s = [...zone].reduce((a, ch) => (a * 31 + ch.charCodeAt(0)) >>> 0, 7);
      const alea = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
      this.decor = Array.from({ length: 70 }, () => ({ x: alea() * TAILLE, y: alea() * TAILLE, r: 4 + alea() * 12, genre: alea() }));
    }
    for (const d of this.decor) {
      ctx.fillStyle = couleur;
      if (d.genre < 0.6) {
        // tree or bush
        ctx.beginPath(); ctx.arc(d.x, d.y, d.r, 0, Math.PI * 2); ctx.fill();
        ctx.fillStyle = 'rgba(0,0,0,0.18)';
        ctx.beginPath(); ctx.arc(d.x + d.r * 0.3, d.y + d.r * 0.3, d.r * 0.8, 0, Math.PI * 2); ctx.fill();
      } else {
        // rock or tuft
        ctx.fillStyle = 'rgba(200,200,180,0.12)';
        ctx.beginPath(); ctx.ellipse(d.x, d.y, d.r * 0.6, d.r * 0.35, d.genre * 6, 0, Math.PI * 2); ctx.fill();
      }
    }
  }

  private pion(ctx: CanvasRenderingContext2D, x: number, y: number, couleur: string, nom: string, moi: boolean): void {
    ctx.fillStyle = 'rgba(0,0,0,0.35)';
    ctx.beginPath(); ctx.ellipse(x + 2, y + 9, 9, 4, 0, 0, Math.PI * 2); ctx.fill();
    if (moi) {
      ctx.strokeStyle = 'rgba(255,230,150,0.9)';
      ctx.lineWidth = 2;
      ctx.beginPath(); ctx.arc(x, y, 13, 0, Math.PI * 2); ctx.stroke();
    }
    const g = ctx.createRadialGradient(x - 3, y - 3, 1, x, y, 10);
    g.addColorStop(0, '#ffffff');
    g.addColorStop(0.25, couleur);
    g.addColorStop(1, shade(couleur));
    ctx.fillStyle = g;
    ctx.beginPath(); ctx.arc(x, y, 9, 0, Math.PI * 2); ctx.fill();
    this.etiquette(ctx, nom, x, y - 20, moi ? '#ffe6a0' : '#ffffff');
  }

  private etiquette(ctx: CanvasRenderingContext2D, texte: string, x: number, y: number, couleur: string): void {
    ctx.font = '600 12px system-ui, sans-serif';
    const l = ctx.measureText(texte).width;
    x = Math.max(l / 2 + 6, Math.min(TAILLE - l / 2 - 6, x));
    ctx.fillStyle = 'rgba(10,12,20,0.65)';
    ctx.fillRect(x - l / 2 - 5, y - 11, l + 10, 16);
    ctx.fillStyle = couleur;
    ctx.textAlign = 'center';
    ctx.fillText(texte, x, y + 1);
    ctx.textAlign = 'start';
  }
}

function shade(hex: string) {
  const n = parseInt(hex.slice(1), 16);
  const f = (v: number) => Math.floor(v * 0.45);
  return `rgb(${f(n >> 16)},${f((n >> 8) & 255)},${f(n & 255)})`;
}
function saisieActive(e: KeyboardEvent) {
  const t = e.target as HTMLElement | null;
  return !!t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT');
}
