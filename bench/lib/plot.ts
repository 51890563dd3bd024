/** A small line chart (log-scale y) drawn with @napi-rs/canvas, for p99 latency over time. */
import { writeFileSync } from 'node:fs';
import { createCanvas, GlobalFonts } from '@napi-rs/canvas';

export interface Series {
  label: string;
  colour: string;
  /** [x seconds, y value]; y ≤ 0 or NaN points are skipped. */
  points: [number, number][];
}

export interface Band {
  from: number;
  to: number;
  label: string;
  colour: string;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  bands: Band[];
  file: string;
  width?: number;
  height?: number;
}

const FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';

/** Draws the chart and writes it as PNG. */
export function drawChart(options: ChartOptions): void {
  GlobalFonts.registerFromPath(FONT, 'DejaVu Sans');
  const width = options.width ?? 1100;
  const height = options.height ?? 560;
  const margin = { left: 80, right: 30, top: 50, bottom: 70 };
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, width, height);

  const all = options.series.flatMap((s) => s.points).filter(([, y]) => Number.isFinite(y) && y > 0);
  const xMax = Math.max(1, ...all.map(([x]) => x), ...options.bands.map((b) => b.to));
  const yMinRaw = Math.min(...all.map(([, y]) => y));
  const yMaxRaw = Math.max(...all.map(([, y]) => y));
  const yMin = 10 ** Math.floor(Math.log10(Math.max(0.1, yMinRaw)));
  const yMax = 10 ** Math.ceil(Math.log10(Math.max(yMin * 10, yMaxRaw)));
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const xOf = (x: number): number => margin.left + (x / xMax) * plotW;
  const yOf = (y: number): number =>
    margin.top + plotH - ((Math.log10(y) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * plotH;

  for (const band of options.bands) {
    ctx.fillStyle = band.colour;
    ctx.fillRect(xOf(band.from), margin.top, xOf(band.to) - xOf(band.from), plotH);
    ctx.fillStyle = '#555555';
    ctx.font = '13px "DejaVu Sans"';
    ctx.fillText(band.label, xOf(band.from) + 6, margin.top + 16);
  }

  ctx.strokeStyle = '#dddddd';
  ctx.fillStyle = '#333333';
  ctx.font = '12px "DejaVu Sans"';
  ctx.lineWidth = 1;
  for (let decade = yMin; decade <= yMax; decade *= 10) {
    ctx.beginPath();
    ctx.moveTo(margin.left, yOf(decade));
    ctx.lineTo(margin.left + plotW, yOf(decade));
    ctx.stroke();
    ctx.fillText(decade >= 1 ? String(decade) : decade.toFixed(1), margin.left - 50, yOf(decade) + 4);
  }
  const xStep = xMax > 120 ? 20 : xMax > 40 ? 10 : 5;
  for (let x = 0; x <= xMax; x += xStep) {
    ctx.fillText(String(x), xOf(x) - 6, margin.top + plotH + 18);
  }
  ctx.strokeStyle = '#333333';
  ctx.strokeRect(margin.left, margin.top, plotW, plotH);

  for (const series of options.series) {
    ctx.strokeStyle = series.colour;
    ctx.lineWidth = 2.5;
    ctx.beginPath();
    let drawing = false;
    for (const [x, y] of series.points) {
      if (!Number.isFinite(y) || y <= 0) {
        drawing = false;
        continue;
      }
      if (drawing) ctx.lineTo(xOf(x), yOf(y));
      else ctx.moveTo(xOf(x), yOf(y));
      drawing = true;
    }
    ctx.stroke();
  }

  ctx.fillStyle = '#000000';
  ctx.font = 'bold 17px "DejaVu Sans"';
  ctx.fillText(options.title, margin.left, 30);
  ctx.font = '13px "DejaVu Sans"';
  ctx.fillText(options.xLabel, margin.left + plotW / 2 - 60, height - 25);
  ctx.save();
  ctx.translate(20, margin.top + plotH / 2 + 60);
  ctx.rotate(-Math.PI / 2);
  ctx.fillText(options.yLabel, 0, 0);
  ctx.restore();

  let legendX = margin.left + plotW - 360;
  for (const series of options.series) {
    ctx.fillStyle = series.colour;
    ctx.fillRect(legendX, height - 22, 24, 6);
    ctx.fillStyle = '#000000';
    ctx.fillText(series.label, legendX + 30, height - 14);
    legendX += 190;
  }
  writeFileSync(options.file, canvas.toBuffer('image/png'));
}
