/**
 * Setup slice: the catalog (models, datasets, methods), the draft RunConfig the form edits, the
 * chosen model's architecture, the person's local files, and the validation of it all.
 */
import type { StateCreator } from 'zustand';
import type { RunConfig } from '../../engine/config';
import type { ModelConfig } from '../../engine/model/config';
import type { DatasetOption, ModelOption } from '../catalog';
import { defaultDraft, setIn } from '../draft';
import type { MethodMeta } from '../../worker/protocol';
import { defaultLrFor, defaultParams } from '../methods';
import { validateSetup, type Validation } from '../validate';
import type { StudioState } from './index';

export interface LocalFileMeta {
  name: string;
  size: number;
  sha256: string;
}

export interface SetupSlice {
  catalog: {
    models: ModelOption[];
    datasets: DatasetOption[];
    /** The methods on offer, as the worker describes them (ui/methods.ts); empty until it answers. */
    methods: MethodMeta[];
    loaded: boolean;
    error: string | null;
  };
  draft: RunConfig;
  arch: ModelConfig | null;
  archError: string | null;
  localModel: { id: string; files: LocalFileMeta[] } | null;
  upload: (LocalFileMeta & { kind: 'text' | 'pairs' | 'chat' }) | null;
  validation: Validation;
  /**
   * The chosen method's own cross-field checks on one draft (`key`: methodCheckKey of it), as the worker
   * answered `checkMethod` (setupActions.watchMethodChecks); used while the draft is still that one.
   */
  methodCheck: { key: string; issues: string[] } | null;
  setCatalog(c: Partial<SetupSlice['catalog']>): void;
  /** Set one dotted path of the draft ("train.lr", "method.params.rank"). */
  setField(path: string, value: unknown): void;
  replaceDraft(d: RunConfig): void;
  chooseMethod(id: string): void;
  setArch(arch: ModelConfig | null, error?: string | null): void;
  setLocalModel(m: SetupSlice['localModel']): void;
  setUpload(u: SetupSlice['upload']): void;
  setMethodCheck(c: SetupSlice['methodCheck']): void;
  revalidate(): void;
}

/** What a method's cross-field checks are answered for: the whole draft (they may read any field). */
export function methodCheckKey(draft: unknown): string {
  return JSON.stringify(draft);
}

function validationFor(s: StudioState, draft = s.draft): Validation {
  return validateSetup(draft, {
    methods: s.catalog.methods,
    methodIssues: s.methodCheck && s.methodCheck.key === methodCheckKey(draft) ? s.methodCheck.issues : null,
    arch: s.arch,
    archError: s.archError,
    localModelReady:
      (!!s.localModel && s.localModel.files.some((f) => f.name === 'model.safetensors')) ||
      // a hub model chosen from the model library (the worker reads its files there)
      /^hf:[^@]+@[0-9a-f]{40}$/.test(draft.model.source === 'local' ? draft.model.id : ''),
    uploadReady: !!s.upload,
    fallbackAdapter: s.adapter?.isFallbackAdapter,
    // the memory plan against the adapter the worker got (its buffer limits; WebGPU reports no memory
    // size, so the budget is 4 GiB); before the adapter is known only the budget applies
    limits: {
      maxStorageBufferBindingSize: s.adapter?.limits.maxStorageBufferBindingSize ?? Infinity,
      maxBufferSize: s.adapter?.limits.maxBufferSize ?? Infinity,
      budgetBytes: 4 * 2 ** 30,
    },
  });
}

const initialDraft = defaultDraft();

export const createSetupSlice: StateCreator<StudioState, [], [], SetupSlice> = (set, get) => ({
  catalog: { models: [], datasets: [], methods: [], loaded: false, error: null },
  draft: initialDraft,
  arch: null,
  archError: null,
  localModel: null,
  upload: null,
  validation: { config: null, issues: [], errors: 0 },
  methodCheck: null,
  setCatalog: (c) => {
    set((s) => ({ catalog: { ...s.catalog, ...c } }));
    get().revalidate();
  },
  setField: (path, value) => {
    const draft = setIn(get().draft, path, value);
    set({ draft });
    get().revalidate();
  },
  replaceDraft: (draft) => {
    set({ draft });
    get().revalidate();
  },
  chooseMethod: (id) => {
    const methods = get().catalog.methods;
    const m = methods.find((x) => x.id === id);
    set((s) => {
      // The learning rate follows the method unless the person set their own (it differs from the old method's default).
      const own = s.draft.train.lr !== defaultLrFor(methods, s.draft.method.id);
      const train = own ? s.draft.train : { ...s.draft.train, lr: defaultLrFor(methods, id) };
      return { draft: { ...s.draft, method: { id, params: m ? defaultParams(m) : {} }, train } };
    });
    get().revalidate();
  },
  setArch: (arch, error = null) => {
    set({ arch, archError: error });
    get().revalidate();
  },
  setLocalModel: (localModel) => {
    set({ localModel });
    get().revalidate();
  },
  setUpload: (upload) => {
    set({ upload });
    get().revalidate();
  },
  setMethodCheck: (methodCheck) => {
    set({ methodCheck });
    get().revalidate();
  },
  revalidate: () => set((s) => ({ validation: validationFor(s) })),
});
