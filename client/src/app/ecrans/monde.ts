// The zone on a canvas: a window around the character (a zone is a kilometre or more across,
// many interest areas wide), with the ground, the zone's edges and portals when in view, and
// every character the server shows, moving live. Move with the arrow keys (or ZQSD/WASD), or
// click where to go.
import { AfterViewInit, Component, ElementRef, HostListener, OnDestroy, OnInit, computed, effect, inject, signal, viewChild } from '@angular/core';
import { Router } from '@angular/router';
import { CATALOGUE, Classe, nomZone } from '../donnees/catalogue';
import { JeuService, ZoneVue } from '../noyau/jeu.service';
import { RpcService } from '../noyau/rpc.service';

const TAILLE = 640;
/** The window's side, in interest cells. A character sees its cell and the eight around it
 *  (doc/monde_chat.md « Intérêt »): that area reaches at most two cells from it on each side,
 *  so a window of four cells centred on it always holds everyone it can see, with a margin. */
const CASES_VUES = 4;
/** How far past a zone's edge the window may go, in metres: enough to see the edge as a line. */
const MARGE = 10;
/** Decor density: 70 trees and rocks per 200 m × 200 m, their size in metres. */
const DECOR_PAR_M2 = 70 / (200 * 200);
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
  /** Where the window is centred (it follows the character smoothly), in which zone. */
  private camera: { x: number; y: number; zone: string } | null = null;
  /** The window last drawn: a click is read through it. */
  private fenetre: Fenetre | null = null;

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
    const f = this.fenetre;
    if (!z || !f) return;
    const r = this.toile().nativeElement.getBoundingClientRect();
    // A click past the edge walks to the edge.
    const x = clamp(f.x0 + ((e.clientX - r.left) / r.width) * f.cote, 0, z.def.largeur);
    const y = clamp(f.y0 + ((e.clientY - r.top) / r.height) * f.cote, 0, z.def.hauteur);
    this.jeu.allerVers(Math.round(x * 10) / 10, Math.round(y * 10) / 10);
  }

  chuchoter(id: string): void { this.jeu.chargerCanal({ type: 'prive', destinataire: id }).catch((e) => this.jeu.erreur(e)); }
  echanger(id: string): void { this.router.navigate(['/jeu/inventaire'], { queryParams: { avec: id } }); }

  async combattre(code: string): Promise<void> {
    await this.jeu.preparerCombat(code);
    if (this.jeu.combat()) await this.router.navigateByUrl('/jeu/combat');
  }

  /** The window for this frame: `CASES_VUES` cells wide, centred on the character (the
   *  camera eases toward it, and jumps on a zone change or a teleport), kept inside the zone
   *  but for `MARGE` metres; a zone narrower than the window is centred in it. */
  private cadrer(z: ZoneVue): Fenetre {
    const cote = CASES_VUES * z.cellule;
    const pos = this.jeu.position();
    let c = this.camera;
    if (!c || c.zone !== z.code || Math.hypot(pos.x - c.x, pos.y - c.y) > cote / 2) {
      c = this.camera = { x: pos.x, y: pos.y, zone: z.code };
    } else {
      c.x += (pos.x - c.x) * 0.2;
      c.y += (pos.y - c.y) * 0.2;
    }
    const axe = (centre: number, borne: number) =>
      borne + 2 * MARGE >= cote ? clamp(centre - cote / 2, -MARGE, borne + MARGE - cote) : (borne - cote) / 2;
    this.fenetre = { x0: axe(c.x, z.def.largeur), y0: axe(c.y, z.def.hauteur), cote, ech: TAILLE / cote };
    return this.fenetre;
  }

  private dessiner(): void {
    const z = this.jeu.zone();
    const ctx = this.toile().nativeElement.getContext('2d');
    if (!ctx || !z) return;
    const f = this.cadrer(z);
    const ech = f.ech;
    // World metres to canvas pixels.
    const ex = (x: number) => (x - f.x0) * ech;
    const ey = (y: number) => (y - f.y0) * ech;
    const visible = (x: number, y: number, marge: number) => x > -marge && x < TAILLE + marge && y > -marge && y < TAILLE + marge;
    const [sol, sol2, sol3] = SOLS[z.code] ?? SOLS['plaine_verte'];
    // Beyond the zone: the void.
    ctx.fillStyle = '#07080c';
    ctx.fillRect(0, 0, TAILLE, TAILLE);
    const bord = { x: ex(0), y: ey(0), l: z.def.largeur * ech, h: z.def.hauteur * ech };
    ctx.save();
    ctx.beginPath(); ctx.rect(bord.x, bord.y, bord.l, bord.h); ctx.clip();
    const g = ctx.createRadialGradient(TAILLE / 2, TAILLE / 2, 60, TAILLE / 2, TAILLE / 2, TAILLE * 0.75);
    g.addColorStop(0, sol2);
    g.addColorStop(1, sol);
    ctx.fillStyle = g;
    ctx.fillRect(0, 0, TAILLE, TAILLE);
    // Grid every 10 m, fixed to the ground.
    ctx.strokeStyle = 'rgba(255,255,255,0.04)';
    ctx.lineWidth = 1;
    for (let m = Math.ceil(f.x0 / 10) * 10; m <= f.x0 + f.cote; m += 10) {
      ctx.beginPath(); ctx.moveTo(ex(m), 0); ctx.lineTo(ex(m), TAILLE); ctx.stroke();
    }
    for (let m = Math.ceil(f.y0 / 10) * 10; m <= f.y0 + f.cote; m += 10) {
      ctx.beginPath(); ctx.moveTo(0, ey(m)); ctx.lineTo(TAILLE, ey(m)); ctx.stroke();
    }
    this.dessinerDecor(ctx, z, sol3, ex, ey, ech);
    // The character's interest area: its cell and the eight around it, whom it sees.
    const pos = this.jeu.position();
    const cx = Math.floor(pos.x / z.cellule), cy = Math.floor(pos.y / z.cellule);
    ctx.strokeStyle = 'rgba(255,230,150,0.16)';
    ctx.setLineDash([6, 6]);
    ctx.strokeRect(ex((cx - 1) * z.cellule), ey((cy - 1) * z.cellule), 3 * z.cellule * ech, 3 * z.cellule * ech);
    ctx.setLineDash([]);
    ctx.restore();
    // The zone's edge.
    ctx.strokeStyle = 'rgba(255,230,180,0.45)';
    ctx.lineWidth = 2;
    ctx.strokeRect(bord.x, bord.y, bord.l, bord.h);
    // Portals: drawn when in view, else a mark on the window's side, toward them.
    const t = performance.now() / 1000;
    for (const pt of z.def.portails) {
      const x = ex(pt.position.x), y = ey(pt.position.y);
      const nom = `${nomZone(pt.vers)} · niv. ${pt.niveau_min}`;
      const rayon = CATALOGUE.deplacement.rayon_portail * ech + 6;
      if (!visible(x, y, rayon)) {
        this.repere(ctx, x, y, nom);
        continue;
      }
      const halo = ctx.createRadialGradient(x, y, 2, x, y, rayon);
      halo.addColorStop(0, 'rgba(190,140,255,0.9)');
      halo.addColorStop(1, 'rgba(120,60,220,0)');
      ctx.fillStyle = halo;
      ctx.beginPath(); ctx.arc(x, y, rayon, 0, Math.PI * 2); ctx.fill();
      ctx.strokeStyle = `rgba(220,190,255,${0.6 + 0.3 * Math.sin(t * 3)})`;
      ctx.lineWidth = 2;
      ctx.beginPath(); ctx.arc(x, y, 8 + 2 * Math.sin(t * 3), 0, Math.PI * 2); ctx.stroke();
      this.etiquette(ctx, nom, x, y + 26, '#e4d4ff');
    }
    // Target
    const c = this.jeu.cible();
    if (c) {
      ctx.strokeStyle = 'rgba(255,220,120,0.8)';
      ctx.lineWidth = 2;
      ctx.beginPath(); ctx.arc(ex(c.x), ey(c.y), 6 + 2 * Math.sin(t * 6), 0, Math.PI * 2); ctx.stroke();
    }
    // Other characters, smoothed toward their last known position
    const vus = new Set<string>();
    for (const p of this.jeu.presents()) {
      vus.add(p.joueur_id);
      const a = this.affiches.get(p.joueur_id) ?? { x: p.x, y: p.y };
      a.x += (p.x - a.x) * 0.25;
      a.y += (p.y - a.y) * 0.25;
      this.affiches.set(p.joueur_id, a);
      if (visible(ex(a.x), ey(a.y), 30)) this.pion(ctx, ex(a.x), ey(a.y), p.classe ? COULEURS[p.classe] : '#bbb', p.nom, false);
    }
    for (const k of [...this.affiches.keys()]) if (!vus.has(k)) this.affiches.delete(k);
    const moi = this.jeu.personnage();
    if (moi) this.pion(ctx, ex(pos.x), ey(pos.y), COULEURS[moi.classe], moi.nom, true);
  }

  /** Trees and rocks, in metres, as many per square metre in every zone; only those in view
   *  are drawn. */
  private dessinerDecor(ctx: CanvasRenderingContext2D, z: ZoneVue, couleur: string, ex: (x: number) => number, ey: (y: number) => number, ech: number): void {
    if (this.decorZone !== z.code) {
      this.decorZone = z.code;
      let s = [...z.code].reduce((a, ch) => (a * 31 + ch.charCodeAt(0)) >>> 0, 7);
      const alea = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
      const n = Math.round(DECOR_PAR_M2 * z.def.largeur * z.def.hauteur);
      this.decor = Array.from({ length: n }, () => ({ x: alea() * z.def.largeur, y: alea() * z.def.hauteur, r: 1.25 + alea() * 3.75, genre: alea() }));
    }
    for (const d of this.decor) {
      const x = ex(d.x), y = ey(d.y), r = d.r * ech;
      if (x < -r || x > TAILLE + r || y < -r || y > TAILLE + r) continue;
      ctx.fillStyle = couleur;
      if (d.genre < 0.6) {
        // tree or bush
        ctx.beginPath(); ctx.arc(x, y, r, 0, Math.PI * 2); ctx.fill();
        ctx.fillStyle = 'rgba(0,0,0,0.18)';
        ctx.beginPath(); ctx.arc(x + r * 0.3, y + r * 0.3, r * 0.8, 0, Math.PI * 2); ctx.fill();
      } else {
        // rock or tuft
        ctx.fillStyle = 'rgba(200,200,180,0.12)';
        ctx.beginPath(); ctx.ellipse(x, y, r * 0.6, r * 0.35, d.genre * 6, 0, Math.PI * 2); ctx.fill();
      }
    }
  }

  /** A portal out of view: an arrow on the window's side, pointing at it, with its name. */
  private repere(ctx: CanvasRenderingContext2D, x: number, y: number, nom: string): void {
    const dx = x - TAILLE / 2, dy = y - TAILLE / 2;
    const k = Math.min((TAILLE / 2 - 16) / Math.max(Math.abs(dx), 1e-9), (TAILLE / 2 - 16) / Math.max(Math.abs(dy), 1e-9));
    const px = TAILLE / 2 + dx * k, py = TAILLE / 2 + dy * k;
    const angle = Math.atan2(dy, dx);
    ctx.save();
    ctx.translate(px, py);
    ctx.rotate(angle);
    ctx.fillStyle = 'rgba(200,160,255,0.85)';
    ctx.beginPath(); ctx.moveTo(10, 0); ctx.lineTo(-6, -7); ctx.lineTo(-6, 7); ctx.closePath(); ctx.fill();
    ctx.restore();
    // The name, on the window's side of the arrow.
    const ly = Math.max(34, Math.min(TAILLE - 30, py - Math.sin(angle) * 22));
    this.etiquette(ctx, nom, px - Math.cos(angle) * 22, ly, '#e4d4ff');
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

interface Fenetre {
  /** The window's top-left corner, in the zone's metres. */
  x0: number; y0: number;
  /** Its side, in metres. */
  cote: number;
  /** Pixels per metre. */
  ech: number;
}

function clamp(v: number, a: number, b: number) { return Math.max(a, Math.min(b, v)); }
function shade(hex: string) {
  const n = parseInt(hex.slice(1), 16);
  const f = (v: number) => Math.floor(v * 0.45);
  return `rgb(${f(n >> 16)},${f((n >> 8) & 255)},${f(n & 255)})`;
}
function saisieActive(e: KeyboardEvent) {
  const t = e.target as HTMLElement | null;
  return !!t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT');
}
