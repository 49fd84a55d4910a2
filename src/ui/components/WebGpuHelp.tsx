/**
 * The page shown instead of the studio when WebGPU cannot run here: what is missing, in plain words,
 * and how to enable it per browser. Never a blank page, never a stack trace.
 */
import { adviceFor, detectBrowser, type GpuProblem } from '../gpuSupport';

const TITLES: Record<GpuProblem['kind'], string> = {
  unavailable: 'This browser does not offer WebGPU',
  insecure: 'WebGPU needs a secure page',
  'no-adapter': 'WebGPU is here, but no GPU adapter is available',
  'device-lost': 'The GPU device was lost',
  worker: 'The training engine could not start',
  internal: 'The training engine could not start',
};

const LEADS: Record<GpuProblem['kind'], string> = {
  unavailable:
    'Rankscope trains models on your GPU through WebGPU, and this browser does not expose it (navigator.gpu is missing). Nothing is broken on the page; the browser needs WebGPU switched on, or a newer version.',
  insecure:
    'Browsers expose WebGPU only to secure pages. Open Rankscope over https://, or from http://localhost / http://127.0.0.1 when running it yourself.',
  'no-adapter':
    'The browser has WebGPU, but asking it for a GPU adapter returned nothing. Usually the GPU is blocklisted, its driver is missing, or hardware acceleration is switched off.',
  'device-lost': 'The GPU stopped responding. Reload the page to start again.',
  worker:
    'The engine runs in a Web Worker, and the worker failed to load. Reloading usually helps; if not, the browser may block module workers.',
  internal: 'The engine reported an error while starting. The details are below; reloading may help.',
};

export function WebGpuHelp({ problem }: { problem: GpuProblem }) {
  const ua = typeof navigator !== 'undefined' ? navigator.userAgent : '';
  const browser = detectBrowser(ua);
  const showEnable = problem.kind === 'unavailable' || problem.kind === 'no-adapter' || problem.kind === 'insecure';
  return (
    <main className="help-page" data-testid="webgpu-help" data-kind={problem.kind}>
      <div className="help-box">
        <h2 data-testid="webgpu-help-title">{TITLES[problem.kind]}</h2>
        <p className="lead">{LEADS[problem.kind]}</p>
        <p className="reason" data-testid="webgpu-help-reason">
          <strong>What the browser said:</strong> {problem.message}
        </p>
        {showEnable && (
          <>
            <p className="for-you" data-testid="webgpu-help-advice">
              <strong>For your browser:</strong> <Ticked text={adviceFor(browser, problem.kind)} />
            </p>
            <h3>How to get WebGPU</h3>
            <table className="help-table" data-testid="webgpu-help-browsers">
              <tbody>
                <tr>
                  <th>Chrome / Edge 113+</th>
                  <td>
                    On by default on Windows, macOS and ChromeOS; on Android from Chrome 121 (Android 12+). Update the
                    browser if it is older.
                  </td>
                </tr>
                <tr>
                  <th>Chrome on Linux</th>
                  <td>
                    Start it with <code>--enable-unsafe-webgpu --enable-features=Vulkan</code>, or turn on{' '}
                    <code>chrome://flags/#enable-unsafe-webgpu</code> and restart.
                  </td>
                </tr>
                <tr>
                  <th>Firefox</th>
                  <td>
                    On by default from Firefox 141 on Windows. Elsewhere use Firefox Nightly and set{' '}
                    <code>dom.webgpu.enabled</code> to <code>true</code> in <code>about:config</code>.
                  </td>
                </tr>
                <tr>
                  <th>Safari</th>
                  <td>
                    On by default in Safari 26 (macOS, iOS, iPadOS, visionOS 26). Before that, use Safari Technology
                    Preview.
                  </td>
                </tr>
                <tr>
                  <th>Hardware acceleration</th>
                  <td>
                    Must be on: Chrome/Edge Settings → System → “Use graphics acceleration when available”; Firefox
                    Settings → Performance. <code>chrome://gpu</code> should list WebGPU as “Hardware accelerated”.
                  </td>
                </tr>
                {problem.kind === 'no-adapter' && (
                  <tr>
                    <th>No adapter</th>
                    <td>
                      Update the GPU driver; check <code>chrome://gpu</code> for a blocklist entry (as a test,{' '}
                      <code>--ignore-gpu-blocklist</code>); remote desktops and virtual machines often have no GPU.
                    </td>
                  </tr>
                )}
              </tbody>
            </table>
          </>
        )}
        <div className="help-actions">
          <button
            type="button"
            className="btn primary"
            data-testid="webgpu-help-retry"
            onClick={() => window.location.reload()}
          >
            Try again
          </button>
          <a className="btn" href="https://caniuse.com/webgpu" target="_blank" rel="noreferrer">
            Browser support table
          </a>
        </div>
      </div>
    </main>
  );
}

/** Render `code` spans written with backticks. */
function Ticked({ text }: { text: string }) {
  return (
    <>{text.split('`').map((part, i) => (i % 2 === 1 ? <code key={i}>{part}</code> : <span key={i}>{part}</span>))}</>
  );
}
